// Package actionimage reads the action's own Dockerfile: the Go version its build stage
// uses, and the final stage as a Dockerfile that packages a binary built outside (for the
// end-to-end tests, where no base image can be pulled: the same user, entrypoint and
// arguments as the released image, on scratch).
package actionimage

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Stages parses a Dockerfile into its stages.
func Stages(dockerfile []byte) ([]instructions.Stage, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, err
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no stage")
	}
	return stages, nil
}

// GoVersion is the version of the golang image the build stages use ("" for none), e.g.
// 1.26.8 for golang:1.26.8-alpine@sha256:...
func GoVersion(dockerfile []byte) (string, error) {
	stages, err := Stages(dockerfile)
	if err != nil {
		return "", err
	}
	version := ""
	for _, s := range stages {
		ref, _, _ := strings.Cut(s.BaseName, "@")
		name, tag, ok := strings.Cut(ref, ":")
		if !ok || (name != "golang" && !strings.HasSuffix(name, "/golang")) {
			continue
		}
		v, _, _ := strings.Cut(tag, "-")
		if version != "" && v != version {
			return "", fmt.Errorf("two Go versions: %s and %s", version, v)
		}
		version = v
	}
	return version, nil
}

// FinalStage returns the final stage's instructions after its FROM, as written.
func FinalStage(dockerfile []byte) ([]string, error) {
	nodes, err := finalNodes(dockerfile)
	var out []string
	for _, n := range nodes {
		out = append(out, n.Original)
	}
	return out, err
}

func finalNodes(dockerfile []byte) ([]*parser.Node, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, err
	}
	last := -1
	for i, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			last = i
		}
	}
	if last < 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return res.AST.Children[last+1:], nil
}

// Packaging returns the final stage as a Dockerfile on scratch that copies the binary
// from the build context (file name binary) where the stage copies it from another stage.
// Every other instruction of the stage (USER, ENTRYPOINT, CMD, ...) is kept as written.
func Packaging(dockerfile []byte, binary string) (string, error) {
	nodes, err := finalNodes(dockerfile)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("FROM scratch\n")
	copied := false
	for _, n := range nodes {
		line := n.Original
		if strings.EqualFold(n.Value, "copy") {
			for _, f := range n.Flags {
				if strings.HasPrefix(f, "--from=") {
					dst := ""
					for p := n.Next; p != nil; p = p.Next {
						dst = p.Value
					}
					line = fmt.Sprintf("COPY %s %s", binary, dst)
					copied = true
				}
			}
		}
		b.WriteString(line + "\n")
	}
	if !copied {
		return "", fmt.Errorf("the final stage copies no binary from a build stage")
	}
	return b.String(), nil
}
