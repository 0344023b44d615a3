package secrets

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func naiveMatch(data []byte) bool {
	for _, h := range hints {
		if bytes.Contains(data, []byte(h)) {
			return true
		}
	}
	return false
}

// The prefilter finds a hint wherever it sits (start, middle, end, overlapping text) and
// nothing else, as a plain search for every hint does.
func TestPrefilterAgreesWithPlainSearch(t *testing.T) {
	p := newPrefilter(hints)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-=./:\"\n")
	for round := range 20000 {
		n := rng.IntN(200)
		data := make([]byte, n)
		for i := range data {
			data[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if round%2 == 0 {
			h := hints[rng.IntN(len(hints))]
			at := rng.IntN(n + 1)
			data = append(data[:at], append([]byte(h), data[at:]...)...)
			if round%4 == 0 {
				data = data[:len(data)-rng.IntN(len(h)+1)] // sometimes cut through it
			}
		}
		if got, want := p.match(data), naiveMatch(data); got != want {
			t.Fatalf("match(%q) = %v, want %v", data, got, want)
		}
	}
}

func FuzzPrefilter(f *testing.F) {
	for _, h := range hints {
		f.Add([]byte("x" + h + "y"))
	}
	f.Add([]byte("s"))
	p := newPrefilter(hints)
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := p.match(data), naiveMatch(data); got != want {
			t.Fatalf("match(%q) = %v, want %v", data, got, want)
		}
	})
}

// BenchmarkPrefilter: 1 MiB of English-like text with no hint in it (the common case).
func BenchmarkPrefilter(b *testing.B) {
	words := []string{"the", "configuration", "of", "server", "is", "loaded", "from", "file", "and", "user", "value", "returns", "error", "string", "function", "import", "package", "main", "data", "key"}
	rng := rand.New(rand.NewPCG(3, 4))
	var buf bytes.Buffer
	for buf.Len() < 1<<20 {
		buf.WriteString(words[rng.IntN(len(words))])
		if rng.IntN(10) == 0 {
			buf.WriteByte('\n')
		} else {
			buf.WriteByte(' ')
		}
	}
	data := buf.Bytes()
	p := newPrefilter(hints)
	if p.match(data) {
		b.Fatal("the text holds a hint")
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		p.match(data)
	}
}
