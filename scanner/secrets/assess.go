package secrets

import (
	"context"
	"regexp"
	"strings"
)

// Assess decides whether a name=value setting (an ENV or ARG of a Dockerfile, an Env or
// label of an image config, a build argument in the history) holds a secret: its value has
// a known credential's shape, or its name says it is one. Why says which, in words; empty
// values and references to other variables ($VAR) are not secrets.
func (d *Detector) Assess(ctx context.Context, name, value string) (m Match, why string, ok bool) {
	if value == "" || strings.HasPrefix(value, "$") {
		return Match{}, "", false
	}
	if m, ok := d.LooksLikeCredential(ctx, value); ok {
		return m, "its value is a " + m.Type, true
	}
	if SecretName(name) {
		return match("secret by name", value), "its name says it holds a secret", true
	}
	return Match{}, "", false
}

// buildArgs finds the build arguments BuildKit and the legacy builder record in a RUN's
// history entry: `RUN |2 TOKEN=abc MODE=prod /bin/sh -c ...`.
var buildArgs = regexp.MustCompile(`\|\d+ ((?:[A-Za-z_][A-Za-z0-9_]*=(?:"[^"]*"|'[^']*'|\S*) ?)+)`)

// BuildArgs returns the name=value build arguments a history entry records.
func BuildArgs(createdBy string) [][2]string {
	var out [][2]string
	for _, m := range buildArgs.FindAllStringSubmatch(createdBy, -1) {
		for _, kv := range strings.Fields(m[1]) {
			k, v, _ := strings.Cut(kv, "=")
			out = append(out, [2]string{k, strings.Trim(v, `"'`)})
		}
	}
	return out
}

// Redact masks the secret build arguments of a history entry, so that no report repeats
// them.
func (d *Detector) Redact(ctx context.Context, createdBy string) string {
	out := createdBy
	for _, kv := range BuildArgs(createdBy) {
		if _, _, ok := d.Assess(ctx, kv[0], kv[1]); ok {
			out = strings.ReplaceAll(out, kv[1], Mask(kv[1]))
		}
	}
	return out
}
