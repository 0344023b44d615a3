// Package imageref cuts an image reference into its parts, in one place, with
// go-containerregistry's parser (name.ParseReference) deciding what is valid.
package imageref

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Ref is a parsed image reference, each part as the user wrote it.
type Ref struct {
	// Repository is the reference without tag and digest, as written ("alpine",
	// "ghcr.io/org/app", "localhost:5000/app").
	Repository string
	// Tag and Digest are "" when the reference has none (a bare name means "latest" to a
	// registry, but was not written so).
	Tag    string
	Digest string
}

// Parse parses s; ok is false when it is not a valid image reference.
func Parse(s string) (Ref, bool) {
	r, err := name.ParseReference(s)
	if err != nil {
		return Ref{}, false
	}
	ref := Ref{Repository: s}
	if d, isDigest := r.(name.Digest); isDigest {
		ref.Digest = d.DigestStr()
		ref.Repository = strings.TrimSuffix(ref.Repository, "@"+ref.Digest)
	}
	// The parser accepted it: a ':' after the last '/' starts the tag (a registry port
	// comes before a '/').
	if i := strings.LastIndex(ref.Repository, ":"); i > strings.LastIndex(ref.Repository, "/") {
		ref.Tag = ref.Repository[i+1:]
		ref.Repository = ref.Repository[:i]
	}
	return ref, true
}

// ShortName is the repository's last path element ("app" for ghcr.io/org/app): the name
// of its pkg:oci package URL.
func (r Ref) ShortName() string {
	return r.Repository[strings.LastIndex(r.Repository, "/")+1:]
}
