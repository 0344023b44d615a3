package imagetest

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/swag/conv"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1" // the entry kind attestations are logged as
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Sigstore is a Fulcio and a Rekor for keyless signing in tests, each a local HTTP server
// speaking the API sigstore-go's clients use, and the trusted root that verifies what they
// issue. Fulcio certifies the key in a request for the identity of a token the test minted
// with Token (an unknown token is refused, as Fulcio refuses one it cannot verify); Rekor
// logs the entry as Rekor does (the canonical dsse body, a signed entry timestamp and an
// inclusion proof). The log's keys are sigstore-go's VirtualSigstore's.
type Sigstore struct {
	FulcioURL, RekorURL string
	TrustedRoot         string // trusted_root.json

	vs         *ca.VirtualSigstore
	caCert     *x509.Certificate
	caKey      crypto.Signer
	mu         sync.Mutex
	tokens     map[string][2]string // token -> identity, issuer
	FulcioHits int                  // requests Fulcio answered
}

// NewSigstore starts the two servers and writes the trusted root.
func NewSigstore(t testing.TB) *Sigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sigstore{vs: vs, caCert: inter, caKey: interKey, tokens: map[string][2]string{}}
	fulcio := httptest.NewServer(http.HandlerFunc(s.fulcio))
	rekor := httptest.NewServer(http.HandlerFunc(s.rekor))
	t.Cleanup(fulcio.Close)
	t.Cleanup(rekor.Close)
	s.FulcioURL, s.RekorURL = fulcio.URL, rekor.URL

	authority := &root.FulcioCertificateAuthority{Root: rootCert, Intermediates: []*x509.Certificate{inter},
		ValidityPeriodStart: time.Now().Add(-time.Hour), ValidityPeriodEnd: time.Now().Add(time.Hour), URI: fulcio.URL}
	// VirtualSigstore names its log by the hex of its key ID; trusted_root.json by the raw
	// key ID, which is what the log entries carry.
	logs := vs.RekorLogs()
	for id, l := range logs {
		if l.ID, err = hex.DecodeString(id); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{authority}, nil, vs.TimestampingAuthorities(), logs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	s.TrustedRoot = filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(s.TrustedRoot, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// Token mints an OIDC token (a JWT Fulcio here accepts) for identity from issuer.
func (s *Sigstore) Token(identity, issuer string) string {
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]any{"iss": issuer, "sub": identity, "aud": "sigstore", "exp": time.Now().Add(time.Hour).Unix()})
	tok := enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(claims) + ".c2ln"
	s.mu.Lock()
	s.tokens[tok] = [2]string{identity, issuer}
	s.mu.Unlock()
	return tok
}

// fulcio answers POST /api/v2/signingCert: a certificate for the requested key, valid ten
// minutes, naming the token's identity and issuer.
func (s *Sigstore) fulcio(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.FulcioHits++
	who, ok := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	s.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		http.NotFound(w, r)
		return
	}
	if !ok {
		http.Error(w, `{"message":"the token is not one this Fulcio verifies"}`, http.StatusUnauthorized)
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct{ Content string } `json:"publicKey"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	leaf, err := ca.GenerateLeafCert(who[0], who[1], time.Now().Add(-time.Minute), publicOnly{pub}, s.caCert, s.caKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var chain []string
	for _, c := range []*x509.Certificate{leaf, s.caCert} {
		chain = append(chain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"signedCertificateDetachedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
}

// publicOnly is the crypto.Signer ca.GenerateLeafCert asks for: only its public key is read.
type publicOnly struct{ pub crypto.PublicKey }

func (p publicOnly) Public() crypto.PublicKey { return p.pub }
func (p publicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("public key only")
}

// rekor answers POST /api/v1/log/entries as Rekor v1 does.
func (s *Sigstore) rekor(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
		http.NotFound(w, r)
		return
	}
	pe, err := models.UnmarshalProposedEntry(io.LimitReader(r.Body, 4<<20), runtime.JSONConsumer())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	entry, err := types.UnmarshalEntry(pe)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body, err := types.CanonicalizeEntry(r.Context(), entry)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	logID, err := s.vs.RekorLogID()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	now := time.Now().Unix()
	b64 := base64.StdEncoding.EncodeToString(body)
	set, err := s.vs.RekorSignPayload(tlog.RekorPayload{Body: b64, IntegratedTime: now, LogIndex: 0, LogID: logID})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	proof, err := s.vs.GetInclusionProof(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	leaf := sha256.Sum256(append([]byte{0}, body...))
	uuid := hex.EncodeToString(leaf[:])
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(models.LogEntry{uuid: models.LogEntryAnon{
		Body: b64, IntegratedTime: conv.Pointer(now), LogID: conv.Pointer(logID), LogIndex: conv.Pointer(int64(0)),
		Verification: &models.LogEntryAnonVerification{SignedEntryTimestamp: strfmt.Base64(set), InclusionProof: proof},
	}})
}
