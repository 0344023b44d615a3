package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"path"

	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/inventory"
	"github.com/google/osv-scalibr/plugin"
	"github.com/google/osv-scalibr/purl"
)

// composerInstalled reads vendor/composer/installed.json, the list of PHP packages
// Composer installed (osv-scalibr reads composer.lock, not what is installed). Composer 1
// writes a JSON array of packages, Composer 2 an object with a "packages" array.
type composerInstalled struct{}

func (composerInstalled) Name() string                       { return "imagegate/php/composerinstalled" }
func (composerInstalled) Version() int                       { return 0 }
func (composerInstalled) Requirements() *plugin.Capabilities { return &plugin.Capabilities{} }

func (composerInstalled) FileRequired(api filesystem.FileAPI) bool {
	p := api.Path()
	return path.Base(p) == "installed.json" && path.Base(path.Dir(p)) == "composer" && path.Base(path.Dir(path.Dir(p))) == "vendor"
}

type composerPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

func (c composerInstalled) Extract(_ context.Context, in *filesystem.ScanInput) (inventory.Inventory, error) {
	var raw json.RawMessage
	if err := json.NewDecoder(in.Reader).Decode(&raw); err != nil {
		return inventory.Inventory{}, fmt.Errorf("composer installed.json: %w", err)
	}
	var pkgs []composerPackage
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &pkgs); err != nil {
			return inventory.Inventory{}, fmt.Errorf("composer installed.json: %w", err)
		}
	} else {
		var v2 struct {
			Packages []composerPackage `json:"packages"`
		}
		if err := json.Unmarshal(raw, &v2); err != nil {
			return inventory.Inventory{}, fmt.Errorf("composer installed.json: %w", err)
		}
		pkgs = v2.Packages
	}
	var out inventory.Inventory
	for _, p := range pkgs {
		if p.Name == "" || p.Version == "" {
			continue
		}
		// Composer records tags as written ("v1.2.3"); advisories use "1.2.3".
		v := p.Version
		if len(v) > 1 && (v[0] == 'v' || v[0] == 'V') && v[1] >= '0' && v[1] <= '9' {
			v = v[1:]
		}
		out.Packages = append(out.Packages, &extractor.Package{
			Name: p.Name, Version: v, PURLType: purl.TypeComposer, Location: extractor.LocationFromPath(in.Path),
		})
	}
	return out, nil
}
