package dockerfile

import (
	"context"
	"strings"
	"sync"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/secrets"
)

// secretsRules are the rules about secrets in ENV and ARG, and key files copied in.
var secretsRules = []Rule{
	{Rule: report.Rule{
		ID: "DF009", Severity: report.Critical, Title: "Secret in ENV", Dockle: "CIS-DI-0010",
		Rationale: "ENV values are stored in the image config: anyone who can pull the image can read them with `docker inspect`.",
		Fix:       "Pass secrets at run time (orchestrator secrets, mounted files), or at build time with `RUN --mount=type=secret`.",
	}, Check: checkSecretEnv},
	{Rule: report.Rule{
		ID: "DF010", Severity: report.High, Title: "Secret passed as a build argument", Dockle: "CIS-DI-0010",
		Rationale: "Build arguments are recorded in the image history (`docker history`) and in build caches.",
		Fix:       "Use `RUN --mount=type=secret,id=...` for build-time secrets.",
	}, Check: checkSecretArg},
	{Rule: report.Rule{
		ID: "DF058", Severity: report.High, Title: "Key or credential file copied into the image", Dockle: "CIS-DI-0010",
		Rationale: "A key or credential file copied into a layer ships with the image, even if a later step deletes it.",
		Fix:       "Use `RUN --mount=type=secret` or `--mount=type=ssh` at build time; never COPY keys.",
	}, Check: checkCopySensitive},
}

// detector finds credential-shaped values (shared with the image checks).
var detector = sync.OnceValues(secrets.New)

// keyValues splits ENV/LABEL/ARG arguments into key and value (ENV a=b c=d, ENV a b,
// ARG a=b).
func keyValues(in *Instruction) [][2]string {
	var out [][2]string
	if in.Cmd == "env" || in.Cmd == "label" {
		// BuildKit stores ENV and LABEL as key, value, separator triples.
		for i := 0; i+1 < len(in.Args); i += 3 {
			out = append(out, [2]string{in.Args[i], in.Args[i+1]})
		}
		return out
	}
	for _, a := range in.Args {
		k, v, _ := strings.Cut(a, "=")
		out = append(out, [2]string{k, strings.Trim(v, `"'`)})
	}
	return out
}

func looksSecret(name, value string) (bool, string) {
	d, err := detector()
	if err != nil {
		return false, ""
	}
	m, why, ok := d.Assess(context.Background(), name, value)
	switch {
	case ok && m.Type != "secret by name":
		why += " (" + m.Masked + ")"
	case !ok && value == "" && secrets.SecretName(name):
		// ARG NPM_TOKEN: no value here, the secret comes with the build command.
		ok, why = true, "its name says it holds a secret"
	}
	return ok, why
}

func checkSecretEnv(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "env" {
			continue
		}
		for _, kv := range keyValues(in) {
			v := kv[1]
			if v == "" || strings.HasPrefix(v, "$") {
				continue // empty, or taken from a build arg (reported there)
			}
			if ok, why := looksSecret(kv[0], v); ok {
				hits = append(hits, hit(in, "ENV %s: %s, and ENV values are readable by anyone who pulls the image", kv[0], why))
			}
		}
	}
	return hits
}

func checkSecretArg(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "arg" {
			continue
		}
		for _, kv := range keyValues(in) {
			if ok, why := looksSecret(kv[0], kv[1]); ok {
				hits = append(hits, hit(in, "ARG %s: %s; build arguments are kept in the image history", kv[0], why))
			}
		}
	}
	return hits
}

func checkCopySensitive(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "copy" && in.Cmd != "add" {
			continue
		}
		for _, src := range sources(in) {
			if !isURL(src) && src != "." && isSensitive(strings.TrimSuffix(src, "/")) {
				hits = append(hits, hit(in, "%s copies %s into a layer", strings.ToUpper(in.Cmd), src))
			}
		}
	}
	return hits
}
