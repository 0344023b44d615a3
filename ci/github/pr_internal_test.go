package github

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// A summary past GitHub's limit is cut on a rune boundary, under the limit, with the
// pointer to the job summary; one within it is kept whole.
func TestCommentBodyIsCutToTheLimit(t *testing.T) {
	marker := commentMarker("scan", "app:ci")
	long := strings.Repeat("é", MaxComment) // two bytes each
	body := commentBody(marker, long)
	assert.LessOrEqual(t, len(body), MaxComment)
	assert.True(t, utf8.ValidString(body))
	assert.True(t, strings.HasPrefix(body, marker+"\n"))
	assert.True(t, strings.HasSuffix(body, "the job summary has it all.\n"))
	assert.Equal(t, marker+"\nshort", commentBody(marker, "short"))
}

// An image or job name cannot end the marker's HTML comment or break its line.
func TestCommentMarkerStaysOneComment(t *testing.T) {
	m := commentMarker("scan\n## x", "evil:--><img src=x>--!>")
	assert.Equal(t, 1, strings.Count(m, "-->"))
	assert.True(t, strings.HasSuffix(m, " -->"))
	assert.NotContains(t, m, "\n")
	assert.NotContains(t, m, "--!")
}
