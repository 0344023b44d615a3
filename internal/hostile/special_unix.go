//go:build unix

package hostile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// specialFiles are cases that name a device, a FIFO, or a symlink to one where a file is
// expected: each is refused with exit 2 at once, never read (a device never ends) and
// never waited on (a FIFO never answers).
func specialFiles(t testing.TB, dir, db, good string) []Case {
	t.Helper()
	sp := filepath.Join(dir, "special")
	if err := os.MkdirAll(sp, 0o755); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(sp, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := func(name, target string) string {
		p := filepath.Join(sp, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := filepath.Join(sp, "ctx")
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM scratch\nCOPY . /\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(ctx, ".dockerignore")); err != nil {
		t.Fatal(err)
	}
	osvFifo := filepath.Join(sp, "osv", "npm")
	if err := os.MkdirAll(osvFifo, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(osvFifo, "all.zip"), 0o600); err != nil {
		t.Fatal(err)
	}
	scan := func(extra ...string) []string {
		return append([]string{"scan", good, "--db", db, "--fail-on-issues=false"}, extra...)
	}
	return []Case{
		{Name: "dockerfile-dev-zero", Args: []string{"lint", "/dev/zero"}, Code: 2, Message: "not a regular file"},
		{Name: "dockerfile-symlink-to-dev-urandom", Args: []string{"lint", link("Dockerfile", "/dev/urandom")}, Code: 2, Message: "a character device"},
		{Name: "dockerfile-fifo", Args: []string{"lint", fifo}, Code: 2, Message: "a FIFO"},
		{Name: "config-dev-zero", Args: scan("--config", "/dev/zero"), Code: 2, Message: "config /dev/zero"},
		{Name: "vex-fifo", Args: scan("--vex", fifo), Code: 2, Message: "vex"},
		{Name: "sbom-symlink-to-dev-zero", Args: []string{"scan", "--sbom", link("sbom.json", "/dev/zero"), "--db", db}, Code: 2, Message: "sbom"},
		{Name: "dockerignore-symlink-to-dev-zero", Args: []string{"lint", filepath.Join(ctx, "Dockerfile"), "--context", ctx}, Code: 2, Message: ".dockerignore"},
		{Name: "image-archive-fifo", Args: []string{"scan", fifo, "--db", db}, Code: 2, Message: "a FIFO"},
		{Name: "docker-archive-dev-zero", Args: []string{"scan", "docker-archive:/dev/zero", "--db", db}, Code: 2, Message: "not a regular file"},
		{Name: "osv-zip-fifo", Args: []string{"scan", good, "--db", filepath.Join(sp, "osv")}, Code: 2, Message: "a FIFO"},
	}
}
