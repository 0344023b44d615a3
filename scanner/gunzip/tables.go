package gunzip

import "math/bits"

// A decode table entry (uint32):
//
//	bits 0-5    how many bits of the stream the symbol takes: its codeword and the extra
//	            bits after it (lengths, distances); in a subtable, past the root bits
//	bits 8-11   of those, the codeword's (so the extra bits are bits 8-11 to 0-5); in a
//	            subtable pointer, the subtable's index bits
//	bits 12-15  kind: literal, end of block, subtable pointer, invalid symbol
//	bits 16-31  the value: a literal byte, a length or distance base, a subtable's start
//
// so a symbol is taken in one shift, its extra bits read from the bits saved before it.
//
// A table is indexed by the next bits of the stream (least significant first, so codes are
// stored bit-reversed); codes longer than the root bits go on in a subtable, the entry at
// their first root bits pointing to it (zlib's two-level layout).
const (
	kindLiteral  = 1 << 12
	kindEnd      = 1 << 13
	kindSubtable = 1 << 14
	kindInvalid  = 1 << 15

	litRoot  = 11
	distRoot = 8
	preRoot  = 7

	// The largest tables a complete code can need with these roots (zlib's "enough"
	// program: 288 symbols, root 11, lengths to 15: 2342; 32 symbols, root 8: 402), each
	// rounded up to a power of two so that a masked index needs no bounds check.
	litTableSize  = 4096
	distTableSize = 512

	maxCodeLen = 15
	numLitLen  = 288 // 286 and 287 are invalid
	numDist    = 32  // 30 and 31 are invalid
	numPre     = 19
)

// litSyms, distSyms and preSyms are each symbol's kind and value, with its extra bits
// count in bits 8-11 (build makes the entry).
var litSyms, distSyms, preSyms = func() (l [numLitLen]uint32, d [numDist]uint32, p [numPre]uint32) {
	for i := range 256 {
		l[i] = kindLiteral | uint32(i)<<16
	}
	l[256] = kindEnd
	base, extra := 3, 0
	for i := 257; i < 285; i++ {
		if i >= 265 && (i-261)%4 == 0 {
			extra++
		}
		l[i] = uint32(base)<<16 | uint32(extra)<<8
		base += 1 << extra
	}
	l[285] = 258 << 16
	l[286], l[287] = kindInvalid, kindInvalid
	base, extra = 1, 0
	for i := range 30 {
		if i >= 4 && i%2 == 0 {
			extra++
		}
		d[i] = uint32(base)<<16 | uint32(extra)<<8
		base += 1 << extra
	}
	d[30], d[31] = kindInvalid, kindInvalid
	for i := range numPre {
		p[i] = uint32(i) << 16
	}
	return
}()

// fixedLit and fixedDist are the code lengths of RFC 1951's fixed Huffman codes.
var fixedLit, fixedDist = func() (l [numLitLen]uint8, d [numDist]uint8) {
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	for i := range d {
		d[i] = 5
	}
	return
}()

// build fills table t for the code lengths lens (0: symbol unused) of symbols whose
// entries without length are syms, with root index bits. It reports false for a code
// that is over-subscribed or incomplete, except a single code of length 1 (zlib accepts
// it, so does the standard library); an empty code is accepted (a distance code that is
// never used). Entries no code reaches are invalid. sorted is scratch of len(lens).
func build(t []uint32, root uint, lens []uint8, syms []uint32, sorted []uint16) bool {
	var count [maxCodeLen + 1]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	left := 1
	total := 0
	for l := 1; l <= maxCodeLen; l++ {
		left <<= 1
		left -= count[l]
		if left < 0 {
			return false
		}
		total += count[l]
	}
	if left > 0 {
		// Only an incomplete code leaves entries no codeword reaches (a complete one
		// reaches every entry of the root table and of each subtable).
		for i := range t[:1<<root] {
			t[i] = kindInvalid
		}
		if total == 0 {
			return true
		}
		if total != 1 || count[1] != 1 {
			return false
		}
	}
	var offs [maxCodeLen + 2]int
	for l := 1; l <= maxCodeLen; l++ {
		offs[l+1] = offs[l] + count[l]
	}
	for sym, l := range lens {
		if l != 0 {
			sorted[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	rootMask := 1<<root - 1
	next := 1 << root // where the next subtable starts
	sub, subStart, subBits := -1, 0, 0
	code, i := 0, 0
	for l := 1; l <= maxCodeLen; l++ {
		for n := count[l]; n > 0; n-- {
			sym := sorted[i]
			i++
			rev := int(bits.Reverse16(uint16(code))) >> (16 - l)
			code++
			count[l]--
			if l <= int(root) {
				e := entry(syms[sym], l)
				for j := rev; j <= rootMask; j += 1 << l {
					t[j] = e
				}
				continue
			}
			if prefix := rev & rootMask; prefix != sub {
				sub, subStart = prefix, next
				subBits = subtableBits(&count, l, int(root))
				next += 1 << subBits
				if next > len(t) {
					return false
				}
				t[prefix] = kindSubtable | uint32(subBits)<<8 | uint32(subStart)<<16 | uint32(root)
			}
			e := entry(syms[sym], l-int(root))
			for j := rev >> root; j < 1<<subBits; j += 1 << (l - int(root)) {
				t[subStart+j] = e
			}
		}
		code <<= 1
	}
	return true
}

// entry is a symbol's table entry for a codeword of l bits (past the root in a subtable).
func entry(sym uint32, l int) uint32 {
	extra := sym >> 8 & 15
	return sym&^0xf00 | uint32(l)<<8 | (uint32(l) + extra)
}

// subtableBits is how many index bits a new subtable needs, its first code of l bits:
// enough for the codes left under its prefix, the next ones in canonical order (count
// holds the codes of each length not yet placed, this one excepted; zlib's reckoning).
func subtableBits(count *[maxCodeLen + 1]int, l, root int) int {
	bits := l - root
	room := 1<<bits - 1 - count[l]
	for bits+root < maxCodeLen && room > 0 {
		bits++
		room = room<<1 - count[bits+root]
	}
	return bits
}
