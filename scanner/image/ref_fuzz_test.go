package image

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/imagegate/imagegate/failure"
)

type refuse struct{}

func (refuse) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in fuzzing")
}

// FuzzOpenReference opens arbitrary image references against a transport that refuses
// every request: never a panic, and every failure is classified (an input error or an
// incomplete scan), so the CLI prints one line with a documented exit code.
func FuzzOpenReference(f *testing.F) {
	for _, s := range []string{
		"nginx:1.25", "registry:alpine", "myacr.azurecr.io/app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"localhost:5000/a/b:c", "UPPER/case", "a@sha256:short", "::", "a:b:c", "ghcr.io/org/app:1.2\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		tr, rest := splitTransport(ref)
		if tr != "" && tr != Registry {
			return // files: covered by the walker's and the hostile corpus's tests
		}
		if _, err := os.Stat(rest); err == nil || looksLikePath(rest) {
			return
		}
		_, err := Open(context.Background(), ref, WithTransport(refuse{}))
		if err == nil {
			t.Fatalf("%q opened without a registry", ref)
		}
		var ferr *failure.Error
		if !errors.As(err, &ferr) {
			t.Fatalf("%q: unclassified error %v", ref, err)
		}
	})
}
