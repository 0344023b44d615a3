// Package cyclonedx is imagegate's CycloneDX codec, both directions in one place, with
// one set of property names: Write renders a scan result as a CycloneDX 1.6 SBOM (via
// cyclonedx-go): the image as the metadata component, every package with its purl, layer
// and locations, and the vulnerabilities found, with ratings, fixes and suppressions;
// Read and ReadFile take such an SBOM (or another tool's) back into packages, streamed a
// component at a time.
package cyclonedx

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/imagegate/imagegate/report"
)

// Options configures the SBOM.
type Options struct {
	// Now stamps metadata.timestamp (zero: time.Now()); tests pin it.
	Now time.Time
}

// BOM builds the CycloneDX document.
func BOM(r *report.Result, o Options) *cdx.BOM {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	bom := cdx.NewBOM()
	bom.SerialNumber = ""
	bom.Metadata = &cdx.Metadata{
		Timestamp: now.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "imagegate", Version: report.Version,
		}}},
	}
	if r.Image != nil {
		c := cdx.Component{
			BOMRef:  "image",
			Type:    cdx.ComponentTypeContainer,
			Name:    r.Image.Name,
			Version: r.Image.Digest,
		}
		if c.Version == "" {
			c.Version = r.Image.ID
		}
		props := []cdx.Property{{Name: PropImageID, Value: r.Image.ID}}
		if r.Image.Platform != "" {
			props = append(props, cdx.Property{Name: PropPlatform, Value: r.Image.Platform})
		}
		if r.OS != nil {
			props = append(props, cdx.Property{Name: PropOS, Value: strings.TrimSpace(r.OS.ID + " " + r.OS.VersionID)})
		}
		if r.Base != nil {
			props = append(props,
				cdx.Property{Name: PropBaseLayers, Value: strconv.Itoa(r.Base.Layers)},
				cdx.Property{Name: PropAttribution, Value: r.Base.Method})
			if r.Base.Inferred {
				props = append(props, cdx.Property{Name: PropInferred, Value: "true"})
			}
		}
		c.Properties = &props
		bom.Metadata.Component = &c
	}
	refs := map[string]string{} // package key -> bom-ref
	var comps []cdx.Component
	for i, p := range r.Packages {
		ref := fmt.Sprintf("pkg-%d", i)
		if p.PURL != "" {
			ref = p.PURL + "#" + strconv.Itoa(i)
		}
		refs[packageKey(p.Name, p.Version, p.Ecosystem, firstLoc(p.Locations))] = ref
		comps = append(comps, toComponent(ref, p))
	}
	bom.Components = &comps
	var vulns []cdx.Vulnerability
	for _, f := range r.Findings {
		if f.Kind != report.KindVulnerability || f.Package == nil {
			continue
		}
		vulns = append(vulns, vulnerability(f, refs[packageKey(f.Package.Name, f.Package.Version, f.Package.Ecosystem, firstLoc(f.Package.Locations))]))
	}
	if len(vulns) > 0 {
		bom.Vulnerabilities = &vulns
	}
	return bom
}

// Write encodes the SBOM as CycloneDX 1.6 JSON.
func Write(w io.Writer, r *report.Result, o Options) error {
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	return enc.EncodeVersion(BOM(r, o), cdx.SpecVersion1_6)
}

func firstLoc(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

func packageKey(name, version, eco, loc string) string {
	return eco + "\x00" + name + "\x00" + version + "\x00" + loc
}

func toComponent(ref string, p report.Package) cdx.Component {
	c := cdx.Component{
		BOMRef:     ref,
		Type:       cdx.ComponentTypeLibrary,
		Name:       p.Name,
		Version:    p.Version,
		PackageURL: p.PURL,
	}
	props := []cdx.Property{{Name: PropEcosystem, Value: p.Ecosystem}, {Name: PropLayer, Value: strconv.Itoa(p.Layer)}}
	for _, l := range p.Locations {
		props = append(props, cdx.Property{Name: PropLocation, Value: l})
	}
	if p.Arch != "" {
		props = append(props, cdx.Property{Name: PropArch, Value: p.Arch})
	}
	if p.SourceName != "" {
		props = append(props, cdx.Property{Name: PropSource, Value: strings.TrimSpace(p.SourceName + " " + p.SourceVersion)})
	}
	if p.OSOwned {
		props = append(props, cdx.Property{Name: PropOSOwned, Value: "true"})
	}
	c.Properties = &props
	return c
}

var severities = map[report.Severity]cdx.Severity{
	report.Critical: cdx.SeverityCritical, report.High: cdx.SeverityHigh,
	report.Medium: cdx.SeverityMedium, report.Low: cdx.SeverityLow, report.Unknown: cdx.SeverityUnknown,
}

func vulnerability(f report.Finding, ref string) cdx.Vulnerability {
	v := cdx.Vulnerability{
		BOMRef:      "vuln-" + f.Fingerprint,
		ID:          f.ID,
		Description: f.Title,
		Source:      &cdx.Source{Name: "OSV", URL: "https://osv.dev/vulnerability/" + f.ID},
	}
	rating := cdx.VulnerabilityRating{Severity: severities[f.Severity], Method: cdx.ScoringMethodOther}
	if f.CVSS != nil {
		score := f.CVSS.Score
		rating.Score = &score
		rating.Vector = f.CVSS.Vector
		switch f.CVSS.Version {
		case "3.1":
			rating.Method = cdx.ScoringMethodCVSSv31
		case "3.0":
			rating.Method = cdx.ScoringMethodCVSSv3
		case "4.0":
			rating.Method = cdx.ScoringMethodCVSSv4
		case "2.0":
			rating.Method = cdx.ScoringMethodCVSSv2
		}
	}
	v.Ratings = &[]cdx.VulnerabilityRating{rating}
	if len(f.Aliases) > 0 {
		var refs []cdx.VulnerabilityReference
		aliases := append([]string(nil), f.Aliases...)
		sort.Strings(aliases)
		for _, a := range aliases {
			refs = append(refs, cdx.VulnerabilityReference{ID: a, Source: &cdx.Source{Name: "OSV", URL: "https://osv.dev/vulnerability/" + a}})
		}
		v.References = &refs
	}
	if len(f.FixedVersions) > 0 {
		v.Recommendation = "Upgrade to " + strings.Join(f.FixedVersions, " or ")
	}
	if len(f.References) > 0 {
		var adv []cdx.Advisory
		for _, u := range f.References {
			adv = append(adv, cdx.Advisory{URL: u})
		}
		v.Advisories = &adv
	}
	if ref != "" {
		v.Affects = &[]cdx.Affects{{Ref: ref}}
	}
	if f.Suppressed != nil {
		state := cdx.IASNotAffected
		if strings.HasPrefix(f.Suppressed.Reason, "fixed") {
			state = cdx.IASResolved
		}
		v.Analysis = &cdx.VulnerabilityAnalysis{State: state, Detail: f.Suppressed.Reason + " (" + f.Suppressed.Source + ")"}
		if r := f.Reachability; r != nil && f.Suppressed.Kind == report.NotReachable {
			v.Analysis.Justification = map[string]cdx.ImpactAnalysisJustification{
				report.CodeNotPresent:       cdx.IAJCodeNotPresent,
				report.CodeNotInExecutePath: cdx.IAJCodeNotReachable,
			}[r.Justification]
		}
	}
	props := []cdx.Property{{Name: "imagegate:fingerprint", Value: f.Fingerprint}, {Name: PropLayer, Value: strconv.Itoa(f.Layer)}}
	if r := f.Reachability; r != nil {
		props = append(props, cdx.Property{Name: PropReachability, Value: r.State})
	}
	v.Properties = &props
	return v
}
