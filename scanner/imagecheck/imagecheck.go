// Package imagecheck checks the built image itself, as dockle does and more: the user it
// runs as, secrets in its config, history and in every layer (also files a later layer
// deleted: they still ship), setuid and world-writable files, empty passwords, duplicate
// IDs, sensitive ports and volumes, and files that do not belong in an image.
package imagecheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/secrets"
)

// DocsURL is where docs/image-checks.md is published.
const DocsURL = "https://github.com/imagegate/imagegate/blob/main/docs/image-checks.md"

func rule(id string, sev report.Severity, title, dockle, rationale, fix string) *report.Rule {
	return &report.Rule{ID: id, Severity: sev, Title: title, Dockle: dockle, Rationale: rationale, Fix: fix,
		HelpURI: DocsURL + "#" + strings.ToLower(id)}
}

// Rules are the image checks.
var (
	RunsAsRoot = rule("IC001", report.High, "The image runs as root", "CIS-DI-0001",
		"The image config sets no user, or root: the container's processes run as root.",
		"Set an unprivileged USER in the final stage of the Dockerfile.")
	SecretInEnv = rule("IC002", report.Critical, "Secret in the image's environment", "CIS-DI-0010",
		"Env values are part of the image config: anyone who can pull the image reads them.",
		"Pass secrets at run time; rebuild without the ENV and rotate the secret.")
	SecretInLabel = rule("IC003", report.High, "Secret in an image label", "CIS-DI-0010",
		"Labels are part of the image config: anyone who can pull the image reads them.",
		"Remove the label, rebuild and rotate the secret.")
	SecretInHistory = rule("IC004", report.High, "Secret in the image history", "CIS-DI-0010",
		"Build arguments and commands are recorded in the history (`docker history`): a secret passed as ARG stays readable.",
		"Use `RUN --mount=type=secret` for build-time secrets; rebuild and rotate the secret.")
	AddURLInHistory = rule("IC005", report.Low, "ADD of a remote URL in the image history", "CIS-DI-0009",
		"A file fetched by ADD at build time was not verified unless a checksum was given.",
		"Fetch with a verified checksum (`ADD --checksum=...`) or in a RUN that checks it.")
	NoHealthcheck = rule("IC006", report.Low, "No HEALTHCHECK in the image", "CIS-DI-0006",
		"Without a health check the runtime cannot tell a hung service from a working one.",
		"Add a HEALTHCHECK, or rely on your orchestrator's probes and ignore this check.")
	SensitivePort = rule("IC007", report.Medium, "Sensitive port exposed", "DKL-DI-0006",
		"SSH, Telnet and RDP in a container mean remote shells and credentials inside the image.",
		"Do not run remote shells in containers; use `docker exec` or `kubectl exec`.")
	SystemVolume = rule("IC008", report.High, "VOLUME on a system folder", "",
		"A volume over /dev, /proc or /sys shadows the kernel's interfaces inside the container.",
		"Remove the VOLUME.")
	SetuidFiles = rule("IC009", report.Low, "setuid or setgid files", "CIS-DI-0008",
		"setuid and setgid programs are escalation paths if the container is compromised.",
		"Remove the bits where they are not needed: `RUN chmod a-s /path`.")
	WorldWritable = rule("IC010", report.Medium, "World-writable files outside /tmp", "",
		"Any process in the container can change these files, including the service's own code.",
		"Restrict the permissions (755/644) and chown to the service user.")
	EmptyPassword = rule("IC011", report.High, "Account with an empty password", "DKL-LI-0001",
		"An account without a password in /etc/shadow can be logged into without one.",
		"Lock the account: `passwd -l user` or `usermod -p '*' user`.")
	DuplicateIDs = rule("IC012", report.Medium, "Duplicate user or group IDs", "DKL-LI-0002",
		"Two accounts with one ID share each other's files and permissions.",
		"Give every user and group its own ID.")
	UnneededFiles = rule("IC013", report.Low, "Files that do not belong in an image", "DKL-DI-0005",
		"Repository data and package caches add size and can leak history or credentials.",
		"Exclude .git with .dockerignore; clean caches in the same RUN that fills them.")
)

// Rules lists the checks.
func Rules() []*report.Rule {
	return []*report.Rule{RunsAsRoot, SecretInEnv, SecretInLabel, SecretInHistory, AddURLInHistory, NoHealthcheck,
		SensitivePort, SystemVolume, SetuidFiles, WorldWritable, EmptyPassword, DuplicateIDs, UnneededFiles, secrets.InLayer}
}

// Analyzer checks the image config (user, Env, labels, history, health check, ports,
// volumes) and the files of the final filesystem (setuid and world-writable files,
// accounts, files that do not belong in an image). It is an image.Requirer: the walk keeps
// the account files for it.
type Analyzer struct {
	det *secrets.Detector
}

// New returns the analyzer, sharing the secret detector.
func New(d *secrets.Detector) *Analyzer { return &Analyzer{det: d} }

// Name implements analyzer.Analyzer.
func (*Analyzer) Name() string { return "imagecheck" }

var accountFiles = map[string]bool{"etc/passwd": true, "etc/shadow": true, "etc/group": true}

// Required implements image.Requirer.
func (a *Analyzer) Required(p string, _ fs.FileInfo) bool { return accountFiles[p] }

// Analyze implements analyzer.Analyzer: every check on the walked image and its config.
func (a *Analyzer) Analyze(ctx context.Context, idx *image.Index, cf *v1.ConfigFile) (*report.Result, error) {
	var out []report.Finding
	out = append(out, a.configChecks(ctx, cf)...)
	out = append(out, fileChecks(idx)...)
	for i := range out {
		f := &out[i]
		f.Kind, f.ID, f.Title = report.KindImage, f.Rule.ID, f.Rule.Title
		if f.Severity == report.Unknown {
			f.Severity = f.Rule.Severity
		}
		if f.Fingerprint == "" {
			f.Fingerprint = report.MakeFingerprint(string(f.Kind), f.Rule.ID, f.Target, f.Message)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity > out[j].Severity })
	return &report.Result{Findings: out}, nil
}

func (a *Analyzer) configChecks(ctx context.Context, cf *v1.ConfigFile) []report.Finding {
	var out []report.Finding
	c := cf.Config
	layer := lastLayer(cf)
	user := strings.TrimSpace(c.User)
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		shown := user
		if shown == "" {
			shown = "(none: root)"
		}
		out = append(out, report.Finding{Rule: RunsAsRoot, Message: "the image config's user is " + shown, Layer: -1})
	}
	for _, e := range c.Env {
		k, v, _ := strings.Cut(e, "=")
		if msg, ok := a.secretValue(ctx, k, v); ok {
			out = append(out, report.Finding{Rule: SecretInEnv, Message: "Env " + k + ": " + msg, Layer: layer})
		}
	}
	keys := make([]string, 0, len(c.Labels))
	for k := range c.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if msg, ok := a.secretValue(ctx, k, c.Labels[k]); ok {
			out = append(out, report.Finding{Rule: SecretInLabel, Message: "label " + k + ": " + msg, Layer: -1})
		}
	}
	li := 0
	for _, h := range cf.History {
		hl := -1
		if !h.EmptyLayer {
			hl = li
			li++
		}
		for _, kv := range secrets.BuildArgs(h.CreatedBy) {
			if msg, ok := a.secretValue(ctx, kv[0], kv[1]); ok {
				red := a.det.Redact(ctx, h.CreatedBy)
				out = append(out, report.Finding{Rule: SecretInHistory, Message: "build argument " + kv[0] + " in `" + short(red) + "`: " + msg, Layer: hl, Instruction: red})
			}
		}
		if strings.Contains(h.CreatedBy, "ADD http://") || strings.Contains(h.CreatedBy, "ADD https://") {
			out = append(out, report.Finding{Rule: AddURLInHistory, Message: "`" + short(h.CreatedBy) + "`", Layer: hl, Instruction: h.CreatedBy})
		}
	}
	if c.Healthcheck == nil || len(c.Healthcheck.Test) == 0 {
		out = append(out, report.Finding{Rule: NoHealthcheck, Message: "the image config has no health check", Layer: -1})
	}
	ports := make([]string, 0, len(c.ExposedPorts))
	for p := range c.ExposedPorts {
		ports = append(ports, p)
	}
	sort.Strings(ports)
	for _, p := range ports {
		n, _, _ := strings.Cut(p, "/")
		if name, ok := map[string]string{"22": "SSH", "23": "Telnet", "3389": "RDP"}[n]; ok {
			out = append(out, report.Finding{Rule: SensitivePort, Message: "exposes " + p + " (" + name + ")", Layer: -1})
		}
	}
	for v := range c.Volumes {
		clean := path.Clean("/" + v)
		for _, sys := range []string{"/dev", "/proc", "/sys"} {
			if clean == sys || strings.HasPrefix(clean, sys+"/") {
				out = append(out, report.Finding{Rule: SystemVolume, Message: "VOLUME " + v, Layer: -1})
			}
		}
	}
	return out
}

// lastLayer is the index of the image's top layer (-1 for none).
func lastLayer(cf *v1.ConfigFile) int {
	n := 0
	for _, h := range cf.History {
		if !h.EmptyLayer {
			n++
		}
	}
	return n - 1
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:119] + "…"
	}
	return s
}

// secretValue decides whether a name=value pair holds a secret, and describes it masked.
func (a *Analyzer) secretValue(ctx context.Context, name, value string) (string, bool) {
	m, why, ok := a.det.Assess(ctx, name, value)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%s: %s (fingerprint %s)", why, m.Masked, m.Fingerprint), true
}

func fileChecks(idx *image.Index) []report.Finding {
	var out []report.Finding
	var setuid, writable, unneeded []string
	unneededLayer := -1
	for _, f := range idx.Files() {
		switch {
		case f.Type == image.TypeRegular && f.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0:
			setuid = append(setuid, "/"+f.Path)
		}
		if f.Mode.Perm()&0o002 != 0 && f.Type != image.TypeSymlink && !tmpPath(f.Path) && !(f.Type == image.TypeDir && f.Mode&fs.ModeSticky != 0) {
			writable = append(writable, "/"+f.Path)
		}
		base := path.Base(f.Path)
		if (f.Type == image.TypeDir && base == ".git") || f.Path == "root/.cache" || f.Path == "root/.npm" || f.Path == "var/cache/apk" && f.Type == image.TypeDir && hasChildren(idx, f.Path) {
			unneeded = append(unneeded, "/"+f.Path)
			unneededLayer = f.Layer
		}
	}
	if len(setuid) > 0 {
		out = append(out, report.Finding{Rule: SetuidFiles, Message: fmt.Sprintf("%d setuid/setgid files: %s", len(setuid), list(setuid)), Layer: -1})
	}
	if len(writable) > 0 {
		out = append(out, report.Finding{Rule: WorldWritable, Message: fmt.Sprintf("%d world-writable entries: %s", len(writable), list(writable)), Layer: -1})
	}
	if len(unneeded) > 0 {
		out = append(out, report.Finding{Rule: UnneededFiles, Message: list(unneeded), Layer: unneededLayer})
	}
	out = append(out, accountChecks(idx)...)
	return out
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

// accountChecks reads /etc/shadow, /etc/passwd and /etc/group.
func accountChecks(idx *image.Index) []report.Finding {
	var out []report.Finding
	read := func(p string) (*image.File, [][]string) {
		f, ok := idx.Stat(p)
		if !ok || !f.Retained {
			return nil, nil
		}
		var rows [][]string
		sc := bufio.NewScanner(bytes.NewReader(f.Data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			rows = append(rows, strings.Split(line, ":"))
		}
		return f, rows
	}
	if f, rows := read("etc/shadow"); f != nil {
		var empty []string
		for _, r := range rows {
			if len(r) > 1 && r[1] == "" {
				empty = append(empty, r[0])
			}
		}
		if len(empty) > 0 {
			out = append(out, report.Finding{Rule: EmptyPassword, Message: "no password for " + strings.Join(empty, ", "), Target: "etc/shadow", Layer: f.Layer})
		}
	}
	for _, spec := range []struct{ path, what string }{{"etc/passwd", "UID"}, {"etc/group", "GID"}} {
		f, rows := read(spec.path)
		if f == nil {
			continue
		}
		byID := map[string][]string{}
		var order []string
		for _, r := range rows {
			if len(r) > 2 {
				if _, ok := byID[r[2]]; !ok {
					order = append(order, r[2])
				}
				byID[r[2]] = append(byID[r[2]], r[0])
			}
		}
		for _, id := range order {
			if names := byID[id]; len(names) > 1 {
				out = append(out, report.Finding{Rule: DuplicateIDs, Message: fmt.Sprintf("%s %s is shared by %s in /%s", spec.what, id, strings.Join(names, ", "), spec.path), Target: spec.path, Layer: f.Layer})
			}
		}
	}
	return out
}

// repeats are image checks that say what a Dockerfile rule already said, with its line.
var repeats = map[string][]string{
	RunsAsRoot.ID:      {"DF001", "DF002"},
	SecretInEnv.ID:     {"DF009"},
	SecretInHistory.ID: {"DF010"},
	NoHealthcheck.ID:   {"DF055"},
	SensitivePort.ID:   {"DF054"},
}

// DropRepeats leaves out image findings that a Dockerfile finding already reports.
func DropRepeats(fs []report.Finding) []report.Finding {
	fired := map[string]bool{}
	for _, f := range fs {
		if f.Kind == report.KindDockerfile {
			fired[f.ID] = true
		}
	}
	out := fs[:0]
	for _, f := range fs {
		dup := false
		if f.Kind == report.KindImage {
			for _, id := range repeats[f.ID] {
				dup = dup || fired[id]
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}
