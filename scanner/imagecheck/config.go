package imagecheck

import (
	"fmt"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/secrets"
)

// configChecks read the image config and its history.
var configChecks = []*Check{
	{Rule: report.Rule{
		ID: "IC001", Severity: report.High, Title: "The image runs as root", Dockle: "CIS-DI-0001",
		Rationale: "The image config sets no user, or root: the container's processes run as root.",
		Fix:       "Set an unprivileged USER in the final stage of the Dockerfile.",
	}, Run: runsAsRoot, Repeats: []string{"DF001", "DF002"}},
	{Rule: report.Rule{
		ID: "IC002", Severity: report.Critical, Title: "Secret in the image's environment", Dockle: "CIS-DI-0010",
		Rationale: "Env values are part of the image config: anyone who can pull the image reads them.",
		Fix:       "Pass secrets at run time; rebuild without the ENV and rotate the secret.",
	}, Run: secretInEnv, Repeats: []string{"DF009"}},
	{Rule: report.Rule{
		ID: "IC003", Severity: report.High, Title: "Secret in an image label", Dockle: "CIS-DI-0010",
		Rationale: "Labels are part of the image config: anyone who can pull the image reads them.",
		Fix:       "Remove the label, rebuild and rotate the secret.",
	}, Run: secretInLabel},
	{Rule: report.Rule{
		ID: "IC004", Severity: report.High, Title: "Secret in the image history", Dockle: "CIS-DI-0010",
		Rationale: "Build arguments and commands are recorded in the history (`docker history`): a secret passed as ARG stays readable.",
		Fix:       "Use `RUN --mount=type=secret` for build-time secrets; rebuild and rotate the secret.",
	}, Run: secretInHistory, Repeats: []string{"DF010"}},
	{Rule: report.Rule{
		ID: "IC005", Severity: report.Low, Title: "ADD of a remote URL in the image history", Dockle: "CIS-DI-0009",
		Rationale: "A file fetched by ADD at build time was not verified unless a checksum was given.",
		Fix:       "Fetch with a verified checksum (`ADD --checksum=...`) or in a RUN that checks it.",
	}, Run: addURLInHistory},
	{Rule: report.Rule{
		ID: "IC006", Severity: report.Low, Title: "No HEALTHCHECK in the image", Dockle: "CIS-DI-0006",
		Rationale: "Without a health check the runtime cannot tell a hung service from a working one.",
		Fix:       "Add a HEALTHCHECK, or rely on your orchestrator's probes and ignore this check.",
	}, Run: noHealthcheck, Repeats: []string{"DF055"}},
	{Rule: report.Rule{
		ID: "IC007", Severity: report.Medium, Title: "Sensitive port exposed", Dockle: "DKL-DI-0006",
		Rationale: "SSH, Telnet and RDP in a container mean remote shells and credentials inside the image.",
		Fix:       "Do not run remote shells in containers; use `docker exec` or `kubectl exec`.",
	}, Run: sensitivePort, Repeats: []string{"DF054"}},
	{Rule: report.Rule{
		ID: "IC008", Severity: report.High, Title: "VOLUME on a system folder",
		Rationale: "A volume over /dev, /proc or /sys shadows the kernel's interfaces inside the container.",
		Fix:       "Remove the VOLUME.",
	}, Run: systemVolume},
}

func runsAsRoot(in *input) []Hit {
	user := strings.TrimSpace(in.cf.Config.User)
	if u, _, _ := strings.Cut(user, ":"); u != "" && u != "root" && u != "0" {
		return nil
	}
	h := Hit{Message: "the image config's user is " + user, Layer: -1}
	if user == "" {
		h.Message = "the image config's user is (none: root)"
	} else {
		h.History = setBy(in.cf, "USER", "")
	}
	return []Hit{h}
}

// secretInEnv reports each Env variable that holds a secret, attributed to the ENV that
// set it (its history entry, shown masked).
func secretInEnv(in *input) (hits []Hit) {
	for _, e := range in.cf.Config.Env {
		k, v, _ := strings.Cut(e, "=")
		if msg, ok := in.secretValue(k, v); ok {
			hits = append(hits, Hit{Message: "Env " + k + ": " + msg, Layer: -1,
				History: setBy(in.cf, "ENV", k), Instruction: "ENV " + k + "=" + secrets.Mask(v)})
		}
	}
	return hits
}

func secretInLabel(in *input) (hits []Hit) {
	keys := make([]string, 0, len(in.cf.Config.Labels))
	for k := range in.cf.Config.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if msg, ok := in.secretValue(k, in.cf.Config.Labels[k]); ok {
			hits = append(hits, Hit{Message: "label " + k + ": " + msg, Layer: -1,
				History: setBy(in.cf, "LABEL", k), Instruction: "LABEL " + k + "=" + secrets.Mask(in.cf.Config.Labels[k])})
		}
	}
	return hits
}

// setBy finds the history entry of the last instruction (ENV, LABEL, USER, EXPOSE,
// VOLUME) that names key (any, for ""): the one that set it. BuildKit writes "ENV A=1",
// the legacy builder "/bin/sh -c #(nop)  ENV A=1".
func setBy(cf *v1.ConfigFile, instruction, key string) *int {
	for i := len(cf.History) - 1; i >= 0; i-- {
		s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(cf.History[i].CreatedBy), "# buildkit"))
		s = strings.TrimSpace(strings.TrimPrefix(s, "/bin/sh -c #(nop)"))
		rest, ok := strings.CutPrefix(s, instruction+" ")
		if !ok {
			continue
		}
		if key == "" || namesKey(rest, key) {
			idx := i
			return &idx
		}
	}
	return nil
}

// namesKey reports whether an instruction's arguments name key: as KEY=, as the first
// word (ENV KEY value), or inside EXPOSE's map[8080/tcp:{}] and VOLUME's [/data].
func namesKey(args, key string) bool {
	for _, w := range strings.FieldsFunc(args, func(r rune) bool { return r == ' ' || r == '[' || r == ']' || r == '{' || r == '}' }) {
		w = strings.TrimPrefix(w, "map")
		name, _, _ := strings.Cut(w, "=")
		name, _, _ = strings.Cut(name, ":")
		if name == key || strings.TrimSuffix(name, "/tcp") == key || strings.TrimSuffix(name, "/udp") == key {
			return true
		}
	}
	return false
}

// eachHistory calls fn with every history entry and the layer it made (-1: none).
func eachHistory(cf *v1.ConfigFile, fn func(h v1.History, layer int)) {
	li := 0
	for _, h := range cf.History {
		hl := -1
		if !h.EmptyLayer {
			hl = li
			li++
		}
		fn(h, hl)
	}
}

func secretInHistory(in *input) (hits []Hit) {
	eachHistory(in.cf, func(h v1.History, layer int) {
		for _, kv := range secrets.BuildArgs(h.CreatedBy) {
			if msg, ok := in.secretValue(kv[0], kv[1]); ok {
				red := in.det.Redact(in.ctx, h.CreatedBy)
				hits = append(hits, Hit{Message: "build argument " + kv[0] + " in `" + short(red) + "`: " + msg, Layer: layer, Instruction: red})
			}
		}
	})
	return hits
}

func addURLInHistory(in *input) (hits []Hit) {
	eachHistory(in.cf, func(h v1.History, layer int) {
		if strings.Contains(h.CreatedBy, "ADD http://") || strings.Contains(h.CreatedBy, "ADD https://") {
			hits = append(hits, Hit{Message: "`" + short(h.CreatedBy) + "`", Layer: layer, Instruction: h.CreatedBy})
		}
	})
	return hits
}

func noHealthcheck(in *input) []Hit {
	if hc := in.cf.Config.Healthcheck; hc != nil && len(hc.Test) > 0 {
		return nil
	}
	return []Hit{{Message: "the image config has no health check", Layer: -1}}
}

func sensitivePort(in *input) (hits []Hit) {
	ports := make([]string, 0, len(in.cf.Config.ExposedPorts))
	for p := range in.cf.Config.ExposedPorts {
		ports = append(ports, p)
	}
	sort.Strings(ports)
	for _, p := range ports {
		n, _, _ := strings.Cut(p, "/")
		if name, ok := map[string]string{"22": "SSH", "23": "Telnet", "3389": "RDP"}[n]; ok {
			hits = append(hits, Hit{Message: "exposes " + p + " (" + name + ")", Layer: -1, History: setBy(in.cf, "EXPOSE", n)})
		}
	}
	return hits
}

func systemVolume(in *input) (hits []Hit) {
	vols := make([]string, 0, len(in.cf.Config.Volumes))
	for v := range in.cf.Config.Volumes {
		vols = append(vols, v)
	}
	sort.Strings(vols)
	for _, v := range vols {
		clean := path.Clean("/" + v)
		for _, sys := range []string{"/dev", "/proc", "/sys"} {
			if clean == sys || strings.HasPrefix(clean, sys+"/") {
				hits = append(hits, Hit{Message: "VOLUME " + v, Layer: -1, History: setBy(in.cf, "VOLUME", v)})
			}
		}
	}
	return hits
}

// secretValue decides whether a name=value pair holds a secret, and describes it masked.
func (in *input) secretValue(name, value string) (string, bool) {
	m, why, ok := in.det.Assess(in.ctx, name, value)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%s: %s (fingerprint %s)", why, m.Masked, m.Fingerprint), true
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:119] + "…"
	}
	return s
}
