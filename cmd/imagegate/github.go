package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/imagegate/imagegate/ci/azure"
	"github.com/imagegate/imagegate/ci/github"
	"github.com/imagegate/imagegate/ci/gitlab"
)

// exitError carries a front end's exit code through cobra without another message: the
// front end has already reported in the CI's own format.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func newGitHubCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:    "github",
		Short:  "Run as the GitHub Action (reads INPUT_* from the environment)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			if code := github.Run(cmd.Context(), os.Getenv, stdout); code != 0 {
				return &exitError{code: code}
			}
			return nil
		}),
	}
}

func newAzureCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:    "azure",
		Short:  "Run as the Azure DevOps task (the task's shim passes IMAGEGATE_INPUT_*)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			if code := azure.Run(cmd.Context(), os.Getenv, stdout); code != 0 {
				return &exitError{code: code}
			}
			return nil
		}),
	}
}

func newGitLabCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:    "gitlab",
		Short:  "Run as a GitLab CI job (reads IMAGEGATE_INPUT_* from the environment)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			if code := gitlab.Run(cmd.Context(), os.Getenv, stdout); code != 0 {
				return &exitError{code: code}
			}
			return nil
		}),
	}
}
