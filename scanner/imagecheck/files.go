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
		ID: "IC009", Severity: report.Low, Title: "setuid or setgid file", Dockle: "CIS-DI-0008",
		Rationale: "setuid and setgid programs are escalation paths if the container is compromised; one the application's own layers added (medium) is rarer and worth a look before the base image's usual ones (low, which an ignore entry with origin: base silences as a group).",
		Fix:       "Remove the bits where they are not needed: `RUN chmod a-s /path`.",
	}, Run: setuidFiles, AppSeverity: report.Medium},
	{Rule: report.Rule{
		ID: "IC010", Severity: report.Medium, Title: "World-writable file outside /tmp",
		Rationale: "Any process in the container can change these files, including the service's own code. A world-writable folder is one finding that counts the world-writable entries under it.",
		Fix:       "Restrict the permissions (755/644) and chown to the service user.",
	}, Run: worldWritable},
	{Rule: report.Rule{
		ID: "IC013", Severity: report.Low, Title: "File that does not belong in an image", Dockle: "DKL-DI-0005",
		Rationale: "Repository data and package caches add size and can leak history or credentials.",
		Fix:       "Exclude .git with .dockerignore; clean caches in the same RUN that fills them.",
	}, Run: unneededFiles},
}

// setuidFiles reports each setuid or setgid program of the final filesystem, with the
// layer that added it.
func setuidFiles(in *input) (hits []Hit) {
	for _, f := range in.files {
		if f.Type == image.TypeRegular && f.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			hits = append(hits, Hit{Message: fmt.Sprintf("/%s is %s (mode %s)", f.Path, bits(f.Mode), octal(f.Mode)), Target: f.Path, Layer: f.Layer})
		}
	}
	return hits
}

// octal writes a mode as chmod takes it: 4755.
func octal(m fs.FileMode) string {
	n := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		n |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		n |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		n |= 0o1000
	}
	return fmt.Sprintf("%04o", n)
}

func bits(m fs.FileMode) string {
	switch {
	case m&fs.ModeSetuid != 0 && m&fs.ModeSetgid != 0:
		return "setuid and setgid"
	case m&fs.ModeSetuid != 0:
		return "setuid"
	}
	return "setgid"
}

// worldWritable reports each world-writable entry outside the temporary folders; a
// world-writable folder is one hit that counts the world-writable entries under it (a
// `chmod -R 777 /app` is one finding, not one per file).
func worldWritable(in *input) (hits []Hit) {
	open, under := "", 0 // the folder last reported, and the entries counted under it
	flush := func() {
		if under > 0 {
			hits[len(hits)-1].Message += fmt.Sprintf(", and %d world-writable entries under it", under)
		}
		open, under = "", 0
	}
	for _, f := range in.files {
		if f.Mode.Perm()&0o002 == 0 || f.Type == image.TypeSymlink || tmpPath(f.Path) || (f.Type == image.TypeDir && f.Mode&fs.ModeSticky != 0) {
			continue
		}
		if open != "" && strings.HasPrefix(f.Path, open+"/") {
			under++
			continue
		}
		flush()
		hits = append(hits, Hit{Message: fmt.Sprintf("/%s is world-writable (mode %s)", f.Path, octal(f.Mode)), Target: f.Path, Layer: f.Layer})
		if f.Type == image.TypeDir {
			open = f.Path
		}
	}
	flush()
	return hits
}

// unneededFiles reports repository data and package caches left in the image.
func unneededFiles(in *input) (hits []Hit) {
	for _, f := range in.files {
		base := path.Base(f.Path)
		if (f.Type == image.TypeDir && base == ".git") || f.Path == "root/.cache" || f.Path == "root/.npm" || f.Path == "var/cache/apk" && f.Type == image.TypeDir && hasChildren(in.idx, f.Path) {
			hits = append(hits, Hit{Message: "/" + f.Path, Target: f.Path, Layer: f.Layer})
		}
	}
	return hits
}

func hasChildren(idx *image.Index, p string) bool {
	entries, ok := idx.ReadDir(p)
	return ok && len(entries) > 0
}

func tmpPath(p string) bool {
	return p == "tmp" || strings.HasPrefix(p, "tmp/") || p == "var/tmp" || strings.HasPrefix(p, "var/tmp/") || strings.HasPrefix(p, "dev/") || strings.HasPrefix(p, "proc/") || strings.HasPrefix(p, "run/lock")
}
