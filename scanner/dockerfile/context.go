package dockerfile

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/dockerignore"
	"github.com/moby/patternmatcher"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// buildContext is what the rules know of the build context: its .dockerignore and, when
// a context folder was given, the sensitive files in it.
type buildContext struct {
	// ignoreFile is the .dockerignore path found ("" when there is none).
	ignoreFile string
	matcher    *patternmatcher.PatternMatcher
	// given says a context folder was named, so its files were looked at.
	given bool
	// sensitive lists context files (relative paths) that look like secrets or
	// repository data and that .dockerignore does not exclude.
	sensitive []string
}

// sensitiveNames are files that must not reach an image through a broad COPY: repository
// data, environment files, keys and registry credentials.
var sensitiveNames = []string{".git", ".env", "*.pem", "id_rsa", "id_ed25519", ".npmrc", ".pypirc", ".aws", "*.key", ".docker/config.json", ".netrc"}

func (b *buildContext) excluded(p string) bool {
	if b.matcher == nil {
		return false
	}
	ok, err := b.matcher.MatchesOrParentMatches(filepath.ToSlash(p))
	return err == nil && ok
}

// maxIgnoreSize bounds a .dockerignore.
const maxIgnoreSize = 4 << 20

// ignoreFiles are the .dockerignore files BuildKit reads for d, in order.
func ignoreFiles(d *Dockerfile, contextDir string) []string {
	dir := contextDir
	if dir == "" {
		dir = filepath.Dir(d.Path)
	}
	return []string{d.Path + ".dockerignore", filepath.Join(dir, ".dockerignore")}
}

// CheckContext refuses a .dockerignore that is not a regular file or is over its limit
// (a symlink to /dev/zero, a FIFO): an input error, before any rule runs.
func CheckContext(d *Dockerfile, contextDir string) error {
	for _, p := range ignoreFiles(d, contextDir) {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		f, st, err := userfile.Open(p, ".dockerignore")
		if err != nil {
			return err
		}
		f.Close()
		if st.Size() > maxIgnoreSize {
			return failure.Inputf(".dockerignore %s: %d bytes is over the %d-byte limit", p, st.Size(), maxIgnoreSize)
		}
		return nil
	}
	return nil
}

// loadContext finds the .dockerignore for d (BuildKit reads <Dockerfile>.dockerignore
// first, then .dockerignore in the context) and, for a given context folder, walks it for
// sensitive files.
func loadContext(d *Dockerfile, contextDir string) *buildContext {
	b := &buildContext{given: contextDir != ""}
	dir := contextDir
	if dir == "" {
		dir = filepath.Dir(d.Path)
	}
	for _, p := range ignoreFiles(d, contextDir) {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		data, err := userfile.Read(p, ".dockerignore", maxIgnoreSize)
		if err != nil {
			continue // CheckContext reported it before the rules ran
		}
		patterns, err := dockerignore.ReadAll(bytes.NewReader(data))
		if err != nil {
			continue
		}
		if m, err := patternmatcher.New(patterns); err == nil {
			b.ignoreFile, b.matcher = p, m
		}
		break
	}
	if !b.given {
		return b
	}
	const maxFiles = 100000
	seen := 0
	filepath.WalkDir(contextDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		seen++
		if seen > maxFiles {
			return filepath.SkipAll
		}
		rel, _ := filepath.Rel(contextDir, p)
		if rel == "." {
			return nil
		}
		if isSensitive(rel) && !b.excluded(rel) {
			b.sensitive = append(b.sensitive, filepath.ToSlash(rel))
			if e.IsDir() {
				return filepath.SkipDir
			}
		}
		if e.IsDir() && (e.Name() == "node_modules" || b.excluded(rel)) {
			return filepath.SkipDir
		}
		return nil
	})
	return b
}

func isSensitive(rel string) bool {
	rel = filepath.ToSlash(rel)
	base := filepath.Base(rel)
	for _, pat := range sensitiveNames {
		if strings.Contains(pat, "/") {
			if rel == pat || strings.HasSuffix(rel, "/"+pat) {
				return true
			}
			continue
		}
		if ok, _ := filepath.Match(pat, base); ok {
			return true
		}
	}
	return false
}

// leaks lists the sensitive names a .dockerignore does not exclude (judged on example
// paths, when the context itself was not given).
func (b *buildContext) leaks() []string {
	var out []string
	for _, pat := range sensitiveNames {
		example := strings.ReplaceAll(pat, "*", "server")
		if !b.excluded(example) {
			out = append(out, pat)
		}
	}
	return out
}
