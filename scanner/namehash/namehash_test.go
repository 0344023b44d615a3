package namehash_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/imagegate/imagegate/scanner/namehash"
)

// The hash tells apart 200,000 names of the shapes it is kept for, names that differ only
// in their tails, their lengths (a NUL pad) or one byte anywhere, and a pair from its
// names joined; String and Bytes agree.
func TestTellsNamesApart(t *testing.T) {
	seen := map[uint64]string{}
	add := func(name string, h uint64) {
		if other, ok := seen[h]; ok && other != name {
			t.Fatalf("%q and %q hash alike", name, other)
		}
		seen[h] = name
		assert.Equal(t, h, namehash.Bytes([]byte(name)), name)
	}
	for i := range 100_000 {
		for _, n := range []string{fmt.Sprintf("usr/lib/x86_64-linux-gnu/lib%d.so.%d", i, i%7), fmt.Sprintf("example.com/mod%d/pkg.(*T).Method%d", i%300, i)} {
			add(n, namehash.String(n))
		}
	}
	for _, n := range []string{"", "a", "a\x00", "a\x00\x00\x00\x00\x00\x00\x00", "a\x00\x00\x00\x00\x00\x00\x00\x00", "abcdefgh", "abcdefghi", "abcdefgi", "bbcdefgh"} {
		add(n, namehash.String(n))
	}
	base := "usr/lib/python3/dist-packages/yaml/__init__.py"
	for i := range len(base) {
		for _, b := range []byte{0, 1, 0x80, 0xfe} {
			q := []byte(base)
			q[i] ^= b | 1
			add(string(q), namehash.String(string(q)))
		}
	}
	pair := namehash.Seeded(namehash.String("net/http"), "Get")
	assert.NotEqual(t, namehash.String("net/http\x00Get"), pair)
	assert.NotEqual(t, namehash.Seeded(namehash.String("net/htt"), "pGet"), pair, "where the pair is cut counts")
}

func BenchmarkString(b *testing.B) {
	name := "github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary.Extractor.Extract"
	b.SetBytes(int64(len(name)))
	var h uint64
	for b.Loop() {
		h += namehash.String(name)
	}
	_ = h
}
