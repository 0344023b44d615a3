package dockerfile_test

import (
	"testing"

	"github.com/imagegate/imagegate/internal/golden"
	"github.com/imagegate/imagegate/scanner/dockerfile"
)

// docs/rules.md is generated from the rules; it must not drift.
func TestRulesDoc(t *testing.T) {
	golden.Check(t, "docs/rules.md", []byte(dockerfile.RulesMarkdown()))
}
