package policy

import (
	"strings"
)

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
