package visible_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/imagegate/imagegate/reporters/visible"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"plain café 名前":               "plain café 名前",
		"\x1b[31mred\x1b[0m":          `\x1b[31mred\x1b[0m`,
		"\x1b]8;;http://evil\x07link": `\x1b]8;;http://evil\x07link`,
		"a\n::warning::forged":        `a\n::warning::forged`,
		"over\rwrite\bx":              `over\rwrite\x08x`,
		"evil\u202etxt.exe":           `evil\u202etxt.exe`,
		"c1 \u009b31m":                `c1 \x9b31m`,
	} {
		assert.Equal(t, want, visible.String(in), "%q", in)
	}
}

func TestLines(t *testing.T) {
	assert.Equal(t, "title\nFix: \\x1b[2Jdo this", visible.Lines("title\nFix: \x1b[2Jdo this"))
	assert.Equal(t, `a\rb`, visible.Lines("a\rb"))
}
