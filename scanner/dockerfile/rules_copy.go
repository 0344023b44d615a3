package dockerfile

import (
	"regexp"
	"strings"

	"github.com/imagegate/imagegate/report"
)

// copyRules are the rules about ADD and COPY.
var copyRules = []Rule{
	{Rule: report.Rule{
		ID: "DF006", Severity: report.Low, Title: "ADD used to copy local files", Hadolint: "DL3020", Dockle: "CIS-DI-0009",
		Rationale: "ADD silently extracts archives and fetches URLs; COPY does only what it says.",
		Fix:       "Use COPY for files and folders.",
	}, Check: checkAddLocal},
	{Rule: report.Rule{
		ID: "DF007", Severity: report.Medium, Title: "ADD fetches a remote URL", Hadolint: "DL3020", Dockle: "CIS-DI-0009",
		Rationale: "A file fetched at build time is not checked unless you give a checksum, and its content can change between builds.",
		Fix:       "Download with curl or wget in a RUN that verifies a checksum, or use `ADD --checksum=sha256:...`.",
	}, Check: checkAddURL},
	{Rule: report.Rule{
		ID: "DF008", Severity: report.Low, Title: "ADD extracts a local archive",
		Rationale: "ADD unpacks tar archives implicitly, which hides what ends up in the image.",
		Fix:       "Make the extraction explicit (`COPY` the archive and `RUN tar -xf`), or keep ADD deliberately and ignore this rule on that line.",
	}, Check: checkAddArchive},
	{Rule: report.Rule{
		ID: "DF047", Severity: report.Medium, Title: "COPY --from names an unknown stage", Hadolint: "DL3022",
		Rationale: "The name is not a stage of this Dockerfile: BuildKit will try to pull an image of that name.",
		Fix:       "Name a stage defined above (FROM ... AS name) or a full image reference.",
	}, Check: checkCopyFromUnknown},
	{Rule: report.Rule{
		ID: "DF048", Severity: report.Medium, Title: "COPY --from names its own stage", Hadolint: "DL3023",
		Rationale: "A stage cannot copy from itself.",
		Fix:       "Name an earlier stage.",
	}, Check: checkCopyFromSelf},
	{Rule: report.Rule{
		ID: "DF062", Severity: report.Low, Title: "COPY of several sources to a destination without a trailing /", Hadolint: "DL3021",
		Rationale: "With more than one source the destination must be a folder; without the slash the build fails, or a later change to one source turns it into a file.",
		Fix:       "End the destination with /: `COPY a.txt b.txt /app/`.",
	}, Check: checkCopyDest},
	{Rule: report.Rule{
		ID: "DF063", Severity: report.Low, Title: "COPY to a relative destination without WORKDIR", Hadolint: "DL3045",
		Rationale: "A relative destination is resolved against the working folder, which without WORKDIR in the stage is whatever the base image left: the files land somewhere else when the base changes.",
		Fix:       "Set `WORKDIR /app` before the COPY, or copy to an absolute path.",
	}, Check: checkCopyRelative},
	{Rule: report.Rule{
		ID: "DF064", Severity: report.Medium, Title: "COPY of a whole filesystem from another stage", Hadolint: "DL3067",
		Rationale: "Copying / from a build stage brings its compilers, caches, package databases and any secret the build saw into the final image: the point of a multi-stage build is lost.",
		Fix:       "Copy only the artefacts: `COPY --from=build /out/app /app/app`.",
	}, Check: checkCopyWholeStage},
}

// sources returns the source arguments of ADD/COPY (all but the destination), unquoted.
func sources(in *Instruction) []string {
	if len(in.Args) < 2 {
		return nil
	}
	var out []string
	for _, a := range in.Args[:len(in.Args)-1] {
		out = append(out, strings.Trim(a, `"'`))
	}
	return out
}

var archiveExt = regexp.MustCompile(`\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst)$`)

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "git@")
}

// isGit says a remote source is a git repository (ADD of a repository at a ref is how
// BuildKit fetches sources; it is not an unverified download).
func isGit(s string) bool {
	return strings.HasPrefix(s, "git@") || strings.Contains(s, ".git#") || strings.HasSuffix(s, ".git")
}

func checkAddLocal(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "add" || len(in.Heredocs) > 0 {
			continue
		}
		for _, src := range sources(in) {
			if !isURL(src) && !archiveExt.MatchString(src) {
				hits = append(hits, hit(in, "ADD %s: use COPY for local files", src))
				break
			}
		}
	}
	return hits
}

func checkAddURL(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "add" {
			continue
		}
		if _, ok := in.Flag("checksum"); ok {
			continue
		}
		for _, src := range sources(in) {
			if isURL(src) && !isGit(src) {
				hits = append(hits, hit(in, "ADD fetches %s without a checksum", src))
			}
		}
	}
	return hits
}

func checkAddArchive(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "add" {
			continue
		}
		for _, src := range sources(in) {
			if !isURL(src) && archiveExt.MatchString(src) {
				hits = append(hits, hit(in, "ADD extracts the archive %s implicitly", src))
			}
		}
	}
	return hits
}

func checkCopyFromUnknown(c *checker) (hits []Hit) {
	for _, s := range c.d.Stages {
		for _, in := range s.Instructions {
			from, ok := copyFrom(in)
			if !ok || strings.Contains(from, "$") {
				continue
			}
			if strings.ContainsAny(from, ":/@.") {
				continue // an image reference
			}
			target := c.d.StageByName(from)
			if target == nil || target.Index > s.Index {
				hits = append(hits, hit(in, "COPY --from=%s: no stage of that name is defined before this one", from))
			}
		}
	}
	return hits
}

func checkCopyFromSelf(c *checker) (hits []Hit) {
	for _, s := range c.d.Stages {
		for _, in := range s.Instructions {
			from, ok := copyFrom(in)
			if !ok {
				continue
			}
			if t := c.d.StageByName(from); t != nil && t.Index == s.Index {
				hits = append(hits, hit(in, "COPY --from=%s names the stage it is in", from))
			}
		}
	}
	return hits
}

func checkCopyDest(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if (in.Cmd != "copy" && in.Cmd != "add") || len(in.Args) < 3 {
			continue
		}
		if dest := strings.Trim(in.Args[len(in.Args)-1], `"'`); !strings.HasSuffix(dest, "/") && !strings.Contains(dest, "$") {
			hits = append(hits, hit(in, "%s of %d sources to %s: end the destination with /", strings.ToUpper(in.Cmd), len(in.Args)-1, dest))
		}
	}
	return hits
}

func checkCopyRelative(c *checker) (hits []Hit) {
	for _, s := range c.d.Stages {
		// scratch starts at /; a base named by a variable may be a stage with a WORKDIR.
		workdir := inheritsWorkdir(c.d, s) || strings.EqualFold(s.Base, "scratch") || strings.Contains(s.BaseRaw, "$")
		for _, in := range s.Instructions {
			if in.Cmd == "workdir" {
				workdir = true
			}
			if (in.Cmd != "copy" && in.Cmd != "add") || len(in.Args) < 2 || workdir {
				continue
			}
			dest := strings.Trim(in.Args[len(in.Args)-1], `"'`)
			if !strings.HasPrefix(dest, "/") && !strings.HasPrefix(dest, "$") && !windowsPath.MatchString(dest) {
				hits = append(hits, hit(in, "%s to %s with no WORKDIR in this stage", strings.ToUpper(in.Cmd), dest))
			}
		}
	}
	return hits
}

// inheritsWorkdir reports whether a stage built on another stage of the Dockerfile gets a
// WORKDIR from it (or from the stage that one is built on).
func inheritsWorkdir(d *Dockerfile, s *Stage) bool {
	for depth := 0; depth < len(d.Stages); depth++ {
		parent := d.StageByName(s.BaseRaw)
		if parent == nil || parent.Index >= s.Index {
			return false
		}
		for _, in := range parent.Instructions {
			if in.Cmd == "workdir" {
				return true
			}
		}
		s = parent
	}
	return false
}

// checkCopyWholeStage looks at the final stage: a builder stage that takes a toolchain's
// whole filesystem (COPY --from=xx / /) is how cross-compilation helpers are used.
func checkCopyWholeStage(c *checker) (hits []Hit) {
	for _, in := range c.d.Final().Instructions {
		if _, ok := copyFrom(in); !ok || len(in.Args) < 2 {
			continue
		}
		for _, src := range in.Args[:len(in.Args)-1] {
			if src == "/" || src == "/." || src == "/*" {
				hits = append(hits, hit(in, "COPY %s copies the whole filesystem of the stage", src))
				break
			}
		}
	}
	return hits
}
