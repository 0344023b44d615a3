package secrets

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// hintGroups are the detector groups' hints, and hints all of them.
var hintGroups, hints = func() ([][]string, []string) {
	var gs [][]string
	var all []string
	for _, g := range groups() {
		gs = append(gs, g.hints)
		all = append(all, g.hints...)
	}
	return gs, all
}()

// naiveMatch is the set of groups with a hint in data, by a plain search for each.
func naiveMatch(data []byte) (set uint64) {
	for gi, g := range hintGroups {
		for _, h := range g {
			if bytes.Contains(data, []byte(h)) {
				set |= 1 << gi
			}
		}
	}
	return set
}

// The prefilter finds every group whose hint is in the text wherever it sits (start,
// middle, end, overlapping text, several groups at once) and no other, as a plain search
// for every hint does.
func TestPrefilterAgreesWithPlainSearch(t *testing.T) {
	p := newPrefilter(hintGroups)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-=./:\"\n")
	for round := range 20000 {
		n := rng.IntN(200)
		data := make([]byte, n)
		for i := range data {
			data[i] = alphabet[rng.IntN(len(alphabet))]
		}
		for k := 0; k < round%3; k++ { // none, one or two hints
			h := hints[rng.IntN(len(hints))]
			at := rng.IntN(len(data) + 1)
			data = append(data[:at], append([]byte(h), data[at:]...)...)
			if round%4 == 0 {
				data = data[:len(data)-rng.IntN(len(h)+1)] // sometimes cut through it
			}
		}
		if got, want := p.match(data), naiveMatch(data); got != want {
			t.Fatalf("match(%q) = %b, want %b", data, got, want)
		}
	}
}

func FuzzPrefilter(f *testing.F) {
	for _, h := range hints {
		f.Add([]byte("x" + h + "y"))
	}
	f.Add([]byte("s"))
	p := newPrefilter(hintGroups)
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := p.match(data), naiveMatch(data); got != want {
			t.Fatalf("match(%q) = %b, want %b", data, got, want)
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
	p := newPrefilter(hintGroups)
	if p.match(data) != 0 {
		b.Fatal("the text holds a hint")
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		p.match(data)
	}
}
