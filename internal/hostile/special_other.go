//go:build !unix

package hostile

import "testing"

func specialFiles(testing.TB, string, string, string) []Case { return nil }
