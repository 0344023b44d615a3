// Package config reads .imagegate.yaml, the project file that tunes imagegate's checks.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/policy"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// FileName is the file looked for in the working folder.
const FileName = ".imagegate.yaml"

// Config is .imagegate.yaml.
type Config struct {
	// Ignore accepts findings, each with a reason and an optional expiry date.
	Ignore []policy.Ignore `yaml:"ignore"`
	// Dockerfile tunes the Dockerfile rules.
	Dockerfile DockerfileConfig `yaml:"dockerfile"`
	// Trust names who signs what imagegate reads from a registry, where no flag does.
	Trust TrustConfig `yaml:"trust"`
	// Path is where the file was read from ("" when none was found).
	Path string `yaml:"-"`
}

// DockerfileConfig switches rules off or changes their severity.
type DockerfileConfig struct {
	// Disable lists rule ids (DF017) or their hadolint ids (DL3008).
	Disable []string `yaml:"disable"`
	// Severity maps a rule id to the severity it reports with.
	Severity map[string]string `yaml:"severity"`
}

// TrustConfig names the signer of rescan's attached SBOMs and of the database artifact.
// It only ever narrows: it applies when no flag of its kind is given, and there is no
// setting here that believes unsigned data.
type TrustConfig struct {
	SBOM Signer `yaml:"sbom"`
	DB   Signer `yaml:"db"`
}

// Signer is a public key, or a keyless identity under a trusted root, as the flags of the
// same names take them; file paths are relative to the config file's folder.
type Signer struct {
	VerifyKey                 string `yaml:"verify-key"`
	CertificateIdentity       string `yaml:"certificate-identity"`
	CertificateIdentityRegexp string `yaml:"certificate-identity-regexp"`
	CertificateOIDCIssuer     string `yaml:"certificate-oidc-issuer"`
	TrustedRoot               string `yaml:"trusted-root"`
}

// MaxSize bounds the config file.
const MaxSize = 4 << 20

// Load reads path; with path empty it reads ./.imagegate.yaml when there is one.
func Load(path string) (*Config, error) {
	explicit := path != ""
	if !explicit {
		path = FileName
	}
	if _, err := os.Lstat(path); !explicit && errors.Is(err, os.ErrNotExist) {
		return &Config{}, nil
	}
	data, err := userfile.Read(path, "config", MaxSize)
	if err != nil {
		return nil, err
	}
	c := &Config{Path: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, failure.Inputf("config %s: %s", path, strings.TrimPrefix(failure.OneLine(err.Error()), "yaml: "))
	}
	// Each ignore entry keeps its line for messages and is checked on its own.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		for _, n := range ignoreNodes(&root) {
			i := n.index
			if i < len(c.Ignore) {
				c.Ignore[i].Source = fmt.Sprintf("%s:%d", path, n.line)
			}
		}
	}
	for i, ig := range c.Ignore {
		if ig.Source == "" {
			c.Ignore[i].Source = fmt.Sprintf("%s ignore[%d]", path, i)
		}
		if err := ig.Validate(); err != nil {
			return nil, failure.Inputf("config %s: %w", c.Ignore[i].Source, err)
		}
	}
	dir := filepath.Dir(path)
	for _, sg := range []*Signer{&c.Trust.SBOM, &c.Trust.DB} {
		for _, p := range []*string{&sg.VerifyKey, &sg.TrustedRoot} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(dir, *p)
			}
		}
	}
	for id, sev := range c.Dockerfile.Severity {
		if _, err := report.ParseSeverity(sev); err != nil {
			return nil, failure.Inputf("config %s: dockerfile.severity.%s: %w", path, id, err)
		}
	}
	return c, nil
}

type nodeLine struct{ index, line int }

// ignoreNodes finds the line of each entry of the top-level ignore list.
func ignoreNodes(root *yaml.Node) []nodeLine {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	var out []nodeLine
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "ignore" || m.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for j, e := range m.Content[i+1].Content {
			out = append(out, nodeLine{index: j, line: e.Line})
		}
	}
	return out
}

// Severities returns the severity overrides, parsed.
func (d DockerfileConfig) Severities() map[string]report.Severity {
	out := map[string]report.Severity{}
	for id, s := range d.Severity {
		v, _ := report.ParseSeverity(s)
		out[strings.ToUpper(id)] = v
	}
	return out
}
