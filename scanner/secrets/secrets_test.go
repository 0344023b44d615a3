package secrets_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/secrets"
)

// Values are the examples that osv-scalibr's Veles tests and the vendors' documentation
// use (none is a live credential), or generated here (keys).
const (
	awsPair       = "aws_access_key_id = AKIA1984R439T439HTH4\naws_secret_access_key = 32r923jr023rk320rk2a3rkB34tj340r32Ckt433\n"
	githubClassic = "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"
	githubFine    = "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"
	githubOAuth   = "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"
	gitlabPAT     = "glpat-vzDNJu3Lvh4YCCekKsnx"
	gcpAPIKey     = "AIzaSyAtestTESTt3s7te-_testtesttesttest"
	npmToken      = "npm_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8"
	pypiToken     = "pypi-AgEIc433aS5vcmcffDgyZDA0MzFkLWMzZjEtNDlhNy1iOWQwLfflMjE5NmNkMjhjNQACKlszLCI22UBiYzQ2Yi05YjNhhTQ5NmItYWIxMHYhMGI3MmEyOWI5MzYiXQAABiCJBI80LFFz0JvS6UIj2LzgV9N-BQnBAD2123Dyu9xs33"
	dockerHubPAT  = "dckr_pat_7awgM4jG5SQvxcvmNzhKj8PQjxo"
	slackAppToken = "xapp-1-A09GDGLM2BE-9538001315143-31fd9c18d0c0c3e9638a7634d01d1ab001d3453ad209e168d5d49b589f0421af"
	slackWebhook  = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
	// Azurite's published development key (Microsoft documents it for the emulator).
	azureKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	azureSAS = "https://acct.blob.core.windows.net/c?sv=2021-06-08&ss=b&srt=sco&sp=rl&se=2026-12-31T00:00:00Z&spr=https&sig=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4%3D"
)

func pemKey(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

func serviceAccountJSON(t *testing.T) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	b, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "imagegate-test", "private_key_id": "3f4b2a1c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "ci@imagegate-test.iam.gserviceaccount.com", "client_id": "123456789012345678901",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token",
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_x509_cert_url":        "https://www.googleapis.com/robot/v1/metadata/x509/ci%40imagegate-test.iam.gserviceaccount.com",
	})
	require.NoError(t, err)
	return string(b)
}

func detector(t *testing.T) *secrets.Detector {
	d, err := secrets.New()
	require.NoError(t, err)
	return d
}

func TestSecretTypes(t *testing.T) {
	d := detector(t)
	key := pemKey(t)
	cases := []struct {
		name, path, content, wantType, secret string
	}{
		{"aws", "root/.aws/credentials", awsPair, "AWS access key", "32r923jr023rk320rk2a3rkB34tj340r32Ckt433"},
		{"github classic", "app/config.yml", "token: " + githubClassic + "\n", "github", githubClassic},
		{"github fine-grained", "app/ci.sh", "export GH_TOKEN=" + githubFine + "\n", "github", githubFine},
		{"github oauth", "app/settings.json", `{"oauth": "` + githubOAuth + `"}`, "github", githubOAuth},
		{"gitlab", "app/.gitlab-ci.env", "GITLAB=" + gitlabPAT + "\n", "GitLab", gitlabPAT},
		{"gcp api key", "app/maps.js", "const key = '" + gcpAPIKey + "';", "GCP API key", gcpAPIKey},
		{"gcp service account", "app/sa.json", serviceAccountJSON(t), "GCP service account key", ""},
		{"npm token", "app/publish.sh", "NPM=" + npmToken + "\n", "npm", npmToken},
		{"pypi token", "app/upload.sh", "TWINE_PASSWORD=" + pypiToken + "\n", "PyPI API token", pypiToken},
		{"docker hub", "app/login.sh", "echo " + dockerHubPAT + " | docker login -u me --password-stdin", "dockerhub", dockerHubPAT},
		{"slack app token", "app/bot.py", "TOKEN = '" + slackAppToken + "'", "slack", slackAppToken},
		{"slack webhook", "app/notify.sh", "curl -X POST " + slackWebhook, "Slack webhook URL", slackWebhook},
		{"azure sas", "app/blob.txt", azureSAS, "Azure SAS token", ""},
		{"azure storage key", "app/settings.sh", "export AZURE_STORAGE_KEY=" + azureKey + "\n", "Azure storage account key", azureKey},
		{"private key", "root/.ssh/id_ecdsa", key, "private key", ""},
		{".env", "app/.env", "DB_PASSWORD=s3cr3t-Pa55w0rd-for-prod\nPORT=8080\n", ".env secret (DB_PASSWORD)", "s3cr3t-Pa55w0rd-for-prod"},
		{".npmrc", "root/.npmrc", "//registry.npmjs.org/:_authToken=0123456789abcdef0123456789abcdef\n", ".npmrc registry credential", "0123456789abcdef0123456789abcdef"},
		{".pypirc", "root/.pypirc", "[pypi]\nusername = __token__\npassword = not-a-real-but-long-password\n", ".pypirc password", "not-a-real-but-long-password"},
		{"docker config", "root/.docker/config.json", `{"auths":{"ghcr.io":{"auth":"dXNlcjpnaHBfc2VjcmV0dG9rZW52YWx1ZQ=="}}}`, "Docker registry credential (ghcr.io)", "dXNlcjpnaHBfc2VjcmV0dG9rZW52YWx1ZQ=="},
		{"kubeconfig", "root/.kube/config", "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl\n", "kubeconfig credential (admin)", ""},
	}
	types := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms := d.Scan(context.Background(), c.path, []byte(c.content))
			require.NotEmpty(t, ms, "no secret found in %s", c.path)
			found := false
			for _, m := range ms {
				if strings.Contains(strings.ToLower(m.Type), strings.ToLower(c.wantType)) {
					found = true
					types[m.Type] = true
				}
				assert.Regexp(t, `^sha256:[0-9a-f]{16}$`, m.Fingerprint)
				if c.secret != "" {
					assert.NotContains(t, m.Masked, c.secret, "never in clear")
					assert.Less(t, len(m.Masked), len(c.secret))
				}
			}
			assert.True(t, found, "types %+v", ms)
		})
	}
	assert.GreaterOrEqual(t, len(types), 12)
}

func TestNearMisses(t *testing.T) {
	d := detector(t)
	cases := map[string]struct{ path, content string }{
		"aws key id without secret":      {"app/README.md", "Use an access key like AKIA1984R439T439HTH4 in your profile."},
		"github token with bad checksum": {"app/x.txt", "ghp_lbSH4CWqHKWSJCtf6JdQKnIkM6IkV00NzVa1"},
		"gitlab token with bad checksum": {"app/x.txt", "glpat-bzox79Of-KE9FD2LjoXXF4CvyxA.01.0r03gxo7a"},
		".env example":                   {"app/.env.example", "DB_PASSWORD=changeme\n"},
		".env reference":                 {"app/.env", "DB_PASSWORD=${DB_PASSWORD}\nPORT=8080\n"},
		".npmrc variable":                {"root/.npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"},
		".pypirc without password":       {"root/.pypirc", "[pypi]\nusername = __token__\n"},
		"docker config credsStore":       {"root/.docker/config.json", `{"credsStore":"desktop","auths":{}}`},
		"kubeconfig exec plugin":         {"root/.kube/config", "users:\n- name: eks\n  user:\n    exec:\n      command: aws\n"},
		"public key":                     {"etc/ssl/pub.pem", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"},
		"slack docs link":                {"app/docs.md", "See https://hooks.slack.com/ for webhooks."},
		"uuid":                           {"app/id.txt", "request-id: 123e4567-e89b-12d3-a456-426614174000"},
	}
	for name, c := range cases {
		assert.Empty(t, d.Scan(context.Background(), c.path, []byte(c.content)), name)
	}
}

func TestMaskAndSecretName(t *testing.T) {
	assert.Equal(t, "ghp_…ax", secrets.Mask(githubClassic))
	assert.Equal(t, "********", secrets.Mask("short"))
	assert.Equal(t, secrets.Fingerprint("abc"), secrets.Fingerprint(" abc\n"))
	assert.True(t, secrets.SecretName("DB_PASSWORD"))
	assert.True(t, secrets.SecretName("NPM_TOKEN"))
	assert.False(t, secrets.SecretName("TOKEN_URL"))
	assert.False(t, secrets.SecretName("PASSWORD_FILE"))
	assert.False(t, secrets.SecretName("NODE_ENV"))
}

// The Azure storage key's detector reads only a text with a run of 86 base64 characters
// and "==" (Azure's SDKs say "azure" on every line): a key one character short is not a
// key, and neither detector nor test finds one; the whole key is found past any amount
// of "azure" text.
func TestAzureKeyNeedsItsRun(t *testing.T) {
	d := detector(t)
	filler := strings.Repeat("// azureKey := client.AzureStorageKey() == nil\n", 5000)
	ms := d.Scan(context.Background(), "app/sdk.go", []byte(filler+"AZURE_STORAGE_KEY="+azureKey+"\n"))
	require.Len(t, ms, 1)
	assert.Equal(t, "Azure storage account key", ms[0].Type)
	assert.Empty(t, d.Scan(context.Background(), "app/sdk.go", []byte(filler+"AZURE_STORAGE_KEY="+azureKey[1:]+"\n")))
}

// The AWS pair detector reads only a text with a key ID (AKIA or ASIA and 16 upper-case
// letters or digits): the hint alone ("ASIA" in a time zone table) does not make it read
// a megabyte of minified JavaScript, and the pair is found past any amount of such text.
func TestAWSPairNeedsItsKeyID(t *testing.T) {
	d := detector(t)
	filler := strings.Repeat(`zones:["ASIA/Tokyo","AKIA"],k:"0123456789abcdefghij0123456789abcdefghij",`, 3000)
	ms := d.Scan(context.Background(), "app/bundle.js", []byte(filler+"\n"+awsPair))
	require.Len(t, ms, 1)
	assert.Equal(t, "AWS access key", ms[0].Type)
	shortID := strings.Replace(awsPair, "AKIA1984R439T439HTH4", "AKIA1984R439T439HTH", 1)
	assert.Empty(t, d.Scan(context.Background(), "app/bundle.js", []byte(filler+"\n"+shortID)))
	lowerID := strings.Replace(awsPair, "AKIA1984R439T439HTH4", "AKIA1984r439T439HTH4", 1)
	assert.Empty(t, d.Scan(context.Background(), "app/bundle.js", []byte(filler+"\n"+lowerID)))
}

// failingAt is a file's content that cannot be read (a temporary file gone bad).
type failingAt struct{}

func (failingAt) ReadAt([]byte, int64) (int, error) { return 0, errors.New("input/output error") }

// A text file whose bytes cannot be read leaves the scan incomplete, said as such (not as
// the byte budget).
func TestUnreadableTextIsIncomplete(t *testing.T) {
	d, err := secrets.New()
	require.NoError(t, err)
	l := secrets.NewLayers(d, 0)
	l.Consume(context.Background(), &image.File{Path: "app/.env", Type: image.TypeRegular, Size: 10}, image.Content{ReaderAt: failingAt{}, Size: 10})
	res, err := l.Analyze(context.Background(), nil, nil)
	require.NoError(t, err)
	require.Len(t, res.Incomplete, 1)
	assert.Equal(t, "secret scan: 1 text files could not be read (input/output error)", res.Incomplete[0])
}
