// Package secrets finds credentials in text: osv-scalibr's Veles detectors for token and
// key formats (cloud keys, GitHub and GitLab tokens, npm and PyPI tokens, private keys,
// GCP service-account JSON, ...), plus the few formats Veles lacks (Slack webhooks, Azure
// SAS tokens) and the credential files every image scanner checks (.env, .npmrc, .pypirc,
// docker config.json, kubeconfig). A secret is never returned in clear: only its type, a
// masked form and a fingerprint.
package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/bits"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/google/osv-scalibr/veles"
	"github.com/google/osv-scalibr/veles/secrets/awsaccesskey"
	"github.com/google/osv-scalibr/veles/secrets/azurestorageaccountaccesskey"
	"github.com/google/osv-scalibr/veles/secrets/azuretoken"
	"github.com/google/osv-scalibr/veles/secrets/dockerhubpat"
	"github.com/google/osv-scalibr/veles/secrets/gcpapikey"
	"github.com/google/osv-scalibr/veles/secrets/gcpsak"
	"github.com/google/osv-scalibr/veles/secrets/github"
	"github.com/google/osv-scalibr/veles/secrets/gitlabpat"
	"github.com/google/osv-scalibr/veles/secrets/npmjsaccesstoken"
	"github.com/google/osv-scalibr/veles/secrets/privatekey"
	"github.com/google/osv-scalibr/veles/secrets/pypiapitoken"
	"github.com/google/osv-scalibr/veles/secrets/slacktoken"
	"github.com/google/osv-scalibr/veles/secrets/stripeapikeys"
	"gopkg.in/yaml.v3"
)

// Match is one secret found. Value is kept only to compute Masked and Fingerprint; it
// must never be written anywhere.
type Match struct {
	// Type names the kind of secret: "AWS access key", "private key", ".npmrc auth token".
	Type string
	// Masked shows a few characters of the secret: "AKIA…PLE".
	Masked string
	// Fingerprint is a hash of the secret: the same secret found twice has the same one.
	Fingerprint string
}

// Detector finds secrets.
type Detector struct {
	groups []detectorGroup
	hints  *prefilter
}

// A detectorGroup is the Veles detectors that need one of the hints to match: a text
// without any of them holds no secret they could find. One prefilter pass over a file
// finds which groups' hints it holds (far cheaper than the detectors' regular
// expressions), and only those groups' detectors read it.
type detectorGroup struct {
	hints     []string
	detectors []veles.Detector
	regexps   []*regexp.Regexp // imagegate's own formats
	names     []string         // their types, as Match.Type
	// needs, when set, is a second test a text with a hint must pass for the detectors to
	// read it: one that nothing they could find fails (a hint can be common in some
	// text: "azure" is on every line of Azure's SDKs).
	needs func([]byte) bool
}

func groups() []detectorGroup {
	return []detectorGroup{
		// A key pair is found only beside its key ID: AKIA or ASIA and 16 upper-case letters
		// or digits ("ASIA" is also in minified JavaScript's time zone tables).
		{hints: []string{"AKIA", "ASIA"}, detectors: []veles.Detector{awsaccesskey.NewDetector()}, needs: runBeside([]string{"AKIA", "ASIA"}, 16, &isUpperOrDigit, false)},
		// The key is 86 characters of base64's alphabet and "==".
		{hints: []string{"azure", "Azure", "AZURE", "az storage"}, detectors: []veles.Detector{azurestorageaccountaccesskey.NewDetector()}, needs: runBeside([]string{"=="}, 86, &isBase64, true)},
		{hints: []string{"eyJ"}, detectors: []veles.Detector{azuretoken.NewDetector()}}, // JWTs
		{hints: []string{"dckr_pat_"}, detectors: []veles.Detector{dockerhubpat.NewDetector()}},
		{hints: []string{"AIzaSy"}, detectors: []veles.Detector{gcpapikey.NewDetector()}},
		{hints: []string{"auth_provider_x509_cert_url", "ewogICJ0eXBlIjogInNlcnZpY2VfYWNjb3VudCIs"}, detectors: []veles.Detector{gcpsak.NewDetector()}},
		{hints: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "Z2hwX", "Z2hvX", "Z2h1X", "Z2hzX", "Z2hyX"}, detectors: []veles.Detector{
			github.NewClassicPATDetector(), github.NewFineGrainedPATDetector(), github.NewOAuthTokenDetector(), github.NewAppRefreshTokenDetector()}},
		{hints: []string{"glpat-"}, detectors: []veles.Detector{gitlabpat.NewDetector()}},
		{hints: []string{"npm_"}, detectors: []veles.Detector{npmjsaccesstoken.NewDetector()}},
		{hints: []string{"PRIVATE KEY-----"}, detectors: []veles.Detector{privatekey.NewDetector()}},
		{hints: []string{"pypi-"}, detectors: []veles.Detector{pypiapitoken.NewDetector()}},
		{hints: []string{"xapp-", "xoxe"}, detectors: []veles.Detector{slacktoken.NewAppLevelTokenDetector(), slacktoken.NewAppConfigAccessTokenDetector()}},
		{hints: []string{"sk_live_", "rk_live_"}, detectors: []veles.Detector{stripeapikeys.NewSecretKeyDetector(), stripeapikeys.NewRestrictedKeyDetector()}},
		{hints: []string{"hooks.slack.com"}, regexps: []*regexp.Regexp{slackWebhook}, names: []string{"Slack webhook URL"}},
		// Every SAS token the expression finds has its version (sv=) and its signature
		// (sig=): the first is the rarer in text, the second in other bytes (three random
		// bytes are "sv=" once a megabyte in sixteen).
		{hints: []string{"sv="}, regexps: []*regexp.Regexp{azureSAS}, names: []string{"Azure SAS token"}, needs: func(b []byte) bool { return bytes.Contains(b, []byte("sig=")) }},
	}
}

// New returns a Detector with the Veles detectors imagegate uses.
func New() (*Detector, error) {
	d := &Detector{}
	var hintGroups [][]string
	d.groups = groups()
	for _, g := range d.groups {
		hintGroups = append(hintGroups, g.hints)
	}
	d.hints = newPrefilter(hintGroups)
	return d, nil
}

// runBeside returns a test for one of markers with n bytes of class right beside it:
// before it (before) or after it. Each place a marker is (found with bytes.Index, fast)
// is checked from there.
func runBeside(markers []string, n int, class *[256]bool, before bool) func([]byte) bool {
	return func(data []byte) bool {
		for _, m := range markers {
			for off := 0; ; {
				i := bytes.Index(data[off:], []byte(m))
				if i < 0 {
					break
				}
				at, step := off+i+len(m), 1 // the first byte after the marker
				if before {
					at, step = off+i-1, -1
				}
				run := 0
				for p := at; p >= 0 && p < len(data) && run < n && class[data[p]]; p += step {
					run++
				}
				if run == n {
					return true
				}
				off += i + 1
			}
		}
		return false
	}
}

var (
	isBase64       = byteClass("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	isUpperOrDigit = byteClass("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
)

func byteClass(members string) (t [256]bool) {
	for _, c := range []byte(members) {
		t[c] = true
	}
	return t
}

// Veles types' names as users know them.
var typeNames = map[string]string{
	"awsaccesskey.Credentials":                                  "AWS access key",
	"azurestorageaccountaccesskey.AzureStorageAccountAccessKey": "Azure storage account key",
	"gcpsak.GCPSAK":             "GCP service account key",
	"gcpapikey.GCPAPIKey":       "GCP API key",
	"privatekey.PrivateKey":     "private key",
	"gitlabpat.GitlabPAT":       "GitLab personal access token",
	"pypiapitoken.PyPIAPIToken": "PyPI API token",
}

var (
	slackWebhook = regexp.MustCompile(`https://hooks\.slack\.com/(services|workflows)/[A-Za-z0-9_/-]{20,}`)
	azureSAS     = regexp.MustCompile(`[?&]sv=\d{4}-\d{2}-\d{2}&[^\s"']*sig=[A-Za-z0-9%+/=]{20,}`)
)

// Scan finds secrets in the contents of a file at p (p decides the credential-file
// checks; pass "" for text that is not a file, like an ENV value).
func (d *Detector) Scan(ctx context.Context, p string, data []byte) []Match {
	var out []Match
	if p != "" {
		out = append(out, credentialFile(p, data)...)
	}
	for set := d.hints.match(data); set != 0 && ctx.Err() == nil; set &= set - 1 {
		g := d.groups[bits.TrailingZeros64(set)]
		if g.needs != nil && !g.needs(data) {
			continue
		}
		// The text is whole in memory (a file is at most MaxFileSize): each detector
		// reads it at once, where Veles' engine would copy it into a buffer of its own.
		for _, det := range g.detectors {
			found, _ := det.Detect(data)
			for _, s := range found {
				out = append(out, fromVeles(s))
			}
		}
		for i, re := range g.regexps {
			for _, m := range re.FindAll(data, -1) {
				out = append(out, match(g.names[i], string(m)))
			}
		}
	}
	return dedupe(out)
}

func dedupe(ms []Match) []Match {
	seen := map[string]bool{}
	var out []Match
	for _, m := range ms {
		if !seen[m.Fingerprint] {
			seen[m.Fingerprint] = true
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// fromVeles names a Veles secret and takes its secret material: the longest string field.
func fromVeles(s veles.Secret) Match {
	t := fmt.Sprintf("%T", s)
	name, ok := typeNames[t]
	if !ok {
		name = strings.ReplaceAll(t[strings.LastIndex(t, ".")+1:], "PAT", " personal access token")
		if i := strings.IndexByte(t, '.'); i > 0 {
			name = t[:i] + " " + name
		}
	}
	var value string
	v := reflect.ValueOf(s)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.Kind() == reflect.String && len(f.String()) > len(value) {
				value = f.String()
			}
		}
	}
	if value == "" {
		value = fmt.Sprint(s)
	}
	return match(name, value)
}

func match(typ, value string) Match {
	return Match{Type: typ, Masked: Mask(value), Fingerprint: Fingerprint(value)}
}

// Mask keeps the first four and the last two characters of a long secret.
func Mask(v string) string {
	v = strings.TrimSpace(v)
	if strings.Contains(v, "PRIVATE KEY") {
		return "-----BEGIN … PRIVATE KEY-----"
	}
	r := []rune(v)
	if len(r) < 12 {
		return strings.Repeat("*", 8)
	}
	return string(r[:4]) + "…" + string(r[len(r)-2:])
}

// Fingerprint hashes a secret.
func Fingerprint(v string) string {
	h := sha256.Sum256([]byte(strings.TrimSpace(v)))
	return "sha256:" + hex.EncodeToString(h[:8])
}

var (
	secretName    = regexp.MustCompile(`(?i)(passw(or)?d|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|auth[_-]?key|client[_-]?secret|_pat$|^pat_)`)
	notSecretName = regexp.MustCompile(`(?i)(_(file|path|dir|url|uri|endpoint|host|port|name|user|username|id|type|length|expiry|ttl)$)`)
)

// SecretName reports whether a variable name says it holds a secret (DB_PASSWORD,
// NPM_TOKEN) and is not about one (TOKEN_URL, PASSWORD_FILE).
func SecretName(name string) bool {
	return secretName.MatchString(name) && !notSecretName.MatchString(name)
}

// LooksLikeCredential reports whether a value has the shape of a known credential.
func (d *Detector) LooksLikeCredential(ctx context.Context, value string) (Match, bool) {
	ms := d.Scan(ctx, "", []byte(value))
	if len(ms) == 0 {
		return Match{}, false
	}
	return ms[0], true
}

// credentialFile checks the files that hold credentials by format.
func credentialFile(p string, data []byte) []Match {
	base := path.Base(p)
	var out []Match
	switch {
	case base == ".env" || strings.HasPrefix(base, ".env.") || strings.HasSuffix(base, ".env"):
		if strings.HasSuffix(base, ".example") || strings.HasSuffix(base, ".sample") || strings.HasSuffix(base, ".template") {
			return nil
		}
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "=")
			v = strings.Trim(strings.TrimSpace(v), `"'`)
			if ok && SecretName(strings.TrimSpace(k)) && v != "" && !strings.HasPrefix(v, "$") {
				out = append(out, match(".env secret ("+strings.TrimSpace(k)+")", v))
			}
		}
	case base == ".npmrc":
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && (strings.HasSuffix(strings.TrimSpace(k), "_authToken") || strings.HasSuffix(strings.TrimSpace(k), "_auth") || strings.HasSuffix(strings.TrimSpace(k), "_password")) {
				if v = strings.TrimSpace(v); v != "" && !strings.HasPrefix(v, "${") {
					out = append(out, match(".npmrc registry credential", v))
				}
			}
		}
	case base == ".pypirc":
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "password" {
				if v = strings.TrimSpace(v); v != "" {
					out = append(out, match(".pypirc password", v))
				}
			}
		}
	case base == "config.json" && strings.HasSuffix(path.Dir(p), ".docker"):
		var cfg struct {
			Auths map[string]struct {
				Auth          string `json:"auth"`
				IdentityToken string `json:"identitytoken"`
			} `json:"auths"`
		}
		if json.Unmarshal(data, &cfg) == nil {
			for reg, a := range cfg.Auths {
				for _, v := range []string{a.Auth, a.IdentityToken} {
					if v != "" {
						out = append(out, match("Docker registry credential ("+reg+")", v))
					}
				}
			}
		}
	case base == "config" && strings.HasSuffix(path.Dir(p), ".kube"), strings.HasSuffix(base, "kubeconfig"):
		var kc struct {
			Users []struct {
				Name string `yaml:"name"`
				User struct {
					Token         string `yaml:"token"`
					ClientKeyData string `yaml:"client-key-data"`
					Password      string `yaml:"password"`
				} `yaml:"user"`
			} `yaml:"users"`
		}
		if yaml.Unmarshal(data, &kc) == nil {
			for _, u := range kc.Users {
				for _, v := range []string{u.User.Token, u.User.ClientKeyData, u.User.Password} {
					if v != "" {
						out = append(out, match("kubeconfig credential ("+u.Name+")", v))
					}
				}
			}
		}
	}
	return out
}
