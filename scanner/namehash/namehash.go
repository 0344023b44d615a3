// Package namehash is the one hash imagegate keeps names as when it keeps a set of them
// instead of the names: the paths an OS package's file lists name (scanner/inventory), the
// functions and packages a Go binary links (scanner/gofuncs). 64 bits, taken 8 bytes a
// step, each step folding the 128-bit product of the state and a constant (wyhash's
// mixing): a byte at a time (FNV-1a, what both used before) was 2-3% of a scan's CPU.
// Stable across runs and builds: the layer cache keeps these sets. Not a defence against
// chosen collisions: a name made to collide with another reads as present, which is what
// both users can afford (see theirs).
package namehash

import "math/bits"

const (
	k0 = 0xa0761d6478bd642f
	k1 = 0xe7037ed1a0b428db
	k2 = 0x8ebc6af09c88c6e3
)

// String is the hash of s.
func String(s string) uint64 { return sum(0, s) }

// Bytes is the hash of b, String's of the same bytes.
func Bytes(b []byte) uint64 { return sum(0, b) }

// Seeded is the hash of s continued from seed (another name's hash): a pair of names
// hashed without joining them.
func Seeded(seed uint64, s string) uint64 { return sum(seed, s) }

func sum[T string | []byte](seed uint64, p T) uint64 {
	h := seed ^ uint64(len(p)) ^ k0
	for ; len(p) >= 8; p = p[8:] {
		h = fold(h^word(p), k1)
	}
	var w uint64
	for i := len(p) - 1; i >= 0; i-- {
		w = w<<8 | uint64(p[i])
	}
	return fold(h^w^k2, k1)
}

// word is p's first 8 bytes, little-endian (the compiler makes it one load).
func word[T string | []byte](p T) uint64 {
	_ = p[7]
	return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
		uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
}

// fold is the two halves of a's and b's 128-bit product, xored.
func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
