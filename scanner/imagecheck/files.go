package imagecheck

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/image"
)

// fileChecks read the final filesystem.
var fileChecks = []*Check{
	{Rule: report.Rule{
		ID: "IC009", Severity: report.Low, Title: "setuid or setgid files", Dockle: "CIS-DI-0008",
		Rationale: "setuid and setgid programs are escalation paths if the container is compromised.",
		Fix:       "Remove the bits where they are not needed: `RUN chmod a-s /path`.",
	}, Run: setuidFiles},
	{Rule: report.Rule{
		ID: "IC010", Severity: report.Medium, Title: "World-writable files outside /tmp",
		Rationale: "Any process in the container can change these files, including the service's own code.",
		Fix:       "Restrict the permissions (755/644) and chown to the service user.",
	}, Run: worldWritable},
	{Rule: report.Rule{
		ID: "IC013", Severity: report.Low, Title: "Files that do not belong in an image", Dockle: "DKL-DI-0005",
		Rationale: "Repository data and package caches add size and can leak history or credentials.",
		Fix:       "Exclude .git with .dockerignore; clean caches in the same RUN that fills them.",
	}, Run: unneededFiles},
}

func setuidFiles(in *input) []Hit {
	var setuid []string
	for _, f := range in.idx.Files() {
		if f.Type == image.TypeRegular && f.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			setuid = append(setuid, "/"+f.Path)
		}
	}
	if len(setuid) == 0 {
		return nil
	}
	return []Hit{{Message: fmt.Sprintf("%d setuid/setgid files: %s", len(setuid), list(setuid)), Layer: -1}}
}

func worldWritable(in *input) []Hit {
	var writable []string
	for _, f := range in.idx.Files() {
		if f.Mode.Perm()&0o002 != 0 && f.Type != image.TypeSymlink && !tmpPath(f.Path) && !(f.Type == image.TypeDir && f.Mode&fs.ModeSticky != 0) {
			writable = append(writable, "/"+f.Path)
		}
	}
	if len(writable) == 0 {
		return nil
	}
	return []Hit{{Message: fmt.Sprintf("%d world-writable entries: %s", len(writable), list(writable)), Layer: -1}}
}

func unneededFiles(in *input) []Hit {
	var unneeded []string
	layer := -1
	for _, f := range in.idx.Files() {
		base := path.Base(f.Path)
		if (f.Type == image.TypeDir && base == ".git") || f.Path == "root/.cache" || f.Path == "root/.npm" || f.Path == "var/cache/apk" && f.Type == image.TypeDir && hasChildren(in.idx, f.Path) {
			unneeded = append(unneeded, "/"+f.Path)
			layer = f.Layer
		}
	}
	if len(unneeded) == 0 {
		return nil
	}
	return []Hit{{Message: list(unneeded), Layer: layer}}
}

func hasChildren(idx *image.Index, p string) bool {
	entries, ok := idx.ReadDir(p)
	return ok && len(entries) > 0
}

func tmpPath(p string) bool {
	return p == "tmp" || strings.HasPrefix(p, "tmp/") || p == "var/tmp" || strings.HasPrefix(p, "var/tmp/") || strings.HasPrefix(p, "dev/") || strings.HasPrefix(p, "proc/") || strings.HasPrefix(p, "run/lock")
}

func list(items []string) string {
	if len(items) > 8 {
		return strings.Join(items[:8], ", ") + fmt.Sprintf(" and %d more", len(items)-8)
	}
	return strings.Join(items, ", ")
}
