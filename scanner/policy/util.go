package policy

import (
	"errors"
	"os"
	"strings"
)

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
