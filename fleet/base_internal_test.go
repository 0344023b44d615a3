package fleet

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCandidateTags(t *testing.T) {
	tags := []string{"3.18", "3.19", "3.20", "3.20.3", "3.21", "3.22", "4.0", "4.1", "5.0", "3.20-slim", "3.20-alpine", "3.21-slim", "latest", "edge"}
	assert.Equal(t, map[string]string{"3.22": "newer", "4.0": "major", "3.20-slim": "variant", "3.20-alpine": "variant"}, candidateTags("3.20", tags))
	assert.Equal(t, map[string]string{"3.21-slim": "newer", "3.20": "variant", "3.20-alpine": "variant"}, candidateTags("3.20-slim", tags))
	assert.Equal(t, map[string]string{}, candidateTags("latest", tags))
	assert.Equal(t, map[string]string{"12": "major", "11-slim": "variant"}, candidateTags("11", []string{"10", "11", "11-slim", "12", "13", "bookworm"}))
}
