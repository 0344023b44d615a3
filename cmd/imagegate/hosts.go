package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/imagegate/imagegate/ci/azure"
	"github.com/imagegate/imagegate/ci/github"
	"github.com/imagegate/imagegate/ci/gitlab"
)

// hosts is the one list of CI front ends: the hidden command each runs as (the Action's
// entrypoint, the Azure task's shim, a GitLab job) and its entry point over ci.Run.
var hosts = []struct {
	name, short string
	run         func(ctx context.Context, getenv func(string) string, out io.Writer) int
}{
	{"github", "Run as the GitHub Action (reads INPUT_* from the environment)", github.Run},
	{"azure", "Run as the Azure DevOps task (the task's shim passes IMAGEGATE_INPUT_*)", azure.Run},
	{"gitlab", "Run as a GitLab CI job (reads IMAGEGATE_INPUT_* from the environment)", gitlab.Run},
}

// exitError carries a front end's exit code through cobra without another message: the
// front end has already reported in the CI's own format.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// newHostCmds makes the hidden command of each CI host.
func newHostCmds(stdout io.Writer) []*cobra.Command {
	var cmds []*cobra.Command
	for _, h := range hosts {
		cmds = append(cmds, &cobra.Command{
			Use:    h.name,
			Short:  h.short,
			Hidden: true,
			Args:   cobra.NoArgs,
			RunE: work(func(cmd *cobra.Command, _ []string) error {
				if code := h.run(cmd.Context(), os.Getenv, stdout); code != 0 {
					return &exitError{code: code}
				}
				return nil
			}),
		})
	}
	return cmds
}
