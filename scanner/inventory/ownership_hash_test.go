package inventory

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// pathHash tells apart paths that share all but their tails, their lengths (a NUL pad),
// or one byte anywhere, across the shapes a Debian system's lists hold; the leading
// slash a list writes and a path found in the image lacks do not count.
func TestPathHashTellsPathsApart(t *testing.T) {
	seen := map[uint64]string{}
	add := func(p string) {
		h := pathHash([]byte(p))
		if q, ok := seen[h]; ok && q != p {
			t.Fatalf("%q and %q hash alike", p, q)
		}
		seen[h] = p
	}
	for i := range 100_000 {
		add(fmt.Sprintf("usr/lib/x86_64-linux-gnu/lib%d.so.%d", i, i%7))
		add(fmt.Sprintf("usr/share/doc/package-%d/copyright", i))
	}
	for _, p := range []string{"", "a", "a\x00", "a\x00\x00\x00\x00\x00\x00\x00", "a\x00\x00\x00\x00\x00\x00\x00\x00", "abcdefgh", "abcdefghi", "abcdefgi", "bbcdefgh"} {
		add(p)
	}
	base := []byte("usr/lib/python3/dist-packages/yaml/__init__.py")
	for i := range base {
		for _, b := range []byte{0, 1, 0x80, 0xff} {
			q := append([]byte(nil), base...)
			q[i] ^= b | 1
			add(string(q))
		}
	}
	assert.Equal(t, pathHash([]byte("usr/bin/env")), pathHash([]byte("/usr/bin/env")))
}
