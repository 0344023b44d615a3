package main

import (
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	"mvdan.cc/sh/v3/syntax"

	"github.com/imagegate/imagegate/ci/inputs"
	"github.com/imagegate/imagegate/fleet"
	"github.com/imagegate/imagegate/internal/golden"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner/image"
)

// The Kubernetes example's containers run imagegate with arguments imagegate takes, and
// its shards are 1/4 to 4/4 from the Indexed Job's completion index.
func TestKubernetesExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "kubernetes", "registry-scan-job.yaml"))
	require.NoError(t, err)
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	type container struct {
		Name string
		Args []string
		Env  []struct{ Name, Value string }
	}
	var jobs int
	for {
		var doc struct {
			Kind string
			Spec struct {
				Completions int
				Template    struct {
					Spec struct {
						InitContainers []container `yaml:"initContainers"`
						Containers     []container
					}
				}
			}
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		require.Equal(t, "Job", doc.Kind)
		jobs++
		for _, c := range append(doc.Spec.Template.Spec.InitContainers, doc.Spec.Template.Spec.Containers...) {
			root := newRootCmd(os.Stdout, os.Stderr)
			cmd, rest, err := root.Find(c.Args)
			require.NoError(t, err, c.Name)
			require.NotEqual(t, root, cmd, "%s: %v is a command", c.Name, c.Args)
			require.NoError(t, cmd.ParseFlags(rest), "%s: imagegate takes %v", c.Name, c.Args)
			if shard, _ := cmd.Flags().GetString("shard"); shard == "auto" {
				env := map[string]string{}
				for _, e := range c.Env {
					env[e.Name] = e.Value
				}
				for i := 0; i < doc.Spec.Completions; i++ {
					env["JOB_COMPLETION_INDEX"] = string(rune('0' + i))
					sh, err := fleet.ParseShard("auto", func(k string) string { return env[k] })
					require.NoError(t, err)
					assert.Equal(t, fleet.Shard{Index: i + 1, Count: doc.Spec.Completions}, sh)
				}
			}
		}
	}
	assert.Equal(t, 2, jobs, "the scan and the merge")
}

// The README's CI sections are what CI runs: each holds, whole, the example file the
// end-to-end suite runs, and the inputs table names every input of both CI steps.
func TestReadmeCISectionsAreTheExamples(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	section := func(heading string) string {
		s := string(readme)
		i := strings.Index(s, "\n"+heading+"\n")
		require.GreaterOrEqual(t, i, 0, "the README has no %q section", heading)
		s = s[i+len(heading)+2:]
		if j := strings.Index(s, "\n## "); j >= 0 {
			s = s[:j]
		}
		return s
	}
	for heading, examples := range map[string][]string{
		"## GitHub Actions": {
			filepath.Join("examples", "github", "scan-after-build.yml"),
			filepath.Join("examples", "github", "several-images.yml"),
			filepath.Join("examples", "github", "pull-request-baseline.yml"),
		},
		"## Azure Pipelines": {
			filepath.Join("examples", "azure", "azure-pipelines.yml"),
			filepath.Join("examples", "azure", "several-images-baseline.yml"),
		},
	} {
		for _, example := range examples {
			b, err := os.ReadFile(filepath.Join("..", "..", example))
			require.NoError(t, err)
			assert.Contains(t, section(heading), "```yaml\n"+string(b)+"```\n", "%s: its block is not %s as it is", heading, example)
		}
	}
}

// The README's tables that come from code are written from it: the CI inputs table (from
// the inputs table) and the --format row (from the reporters' list). With -update the
// test writes them (review the diff); without, it fails where they differ.
func TestReadmeTablesFollowTheCode(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	text := string(readme)
	rows := []string{"| GitHub input | Azure input | default | what |", "|---|---|---|---|"}
	for _, in := range inputs.Table {
		name, def := "`"+in.Name+"`", ""
		if in.AzureOnly {
			name = "—"
		}
		if in.Default != "" {
			def = "`" + in.Default + "`"
		}
		rows = append(rows, "| "+name+" | `"+in.Azure+"` | "+def+" | "+in.Description+" |")
	}
	table := regexp.MustCompile("(?m)^\\| GitHub input \\|.*\\n(?:^\\|.*\\n)+")
	require.Regexp(t, table, text, "the README has no CI inputs table")
	text = table.ReplaceAllLiteralString(text, strings.Join(rows, "\n")+"\n")
	var quoted []string
	for _, f := range output.Formats() {
		quoted = append(quoted, "`"+f+"`")
	}
	format := regexp.MustCompile("(?m)^\\| `-f, --format FORMAT` \\| .*$")
	require.Regexp(t, format, text, "the README has no --format row")
	text = format.ReplaceAllLiteralString(text, "| `-f, --format FORMAT` | report on stdout: "+strings.Join(quoted, ", ")+" |")
	golden.Check(t, "README.md", []byte(text))
}

// Every imagegate command line in the CI examples and imagegate's own workflows (a step's
// shell script) is one this
// binary takes: its command exists and its flags parse. GitHub's ${{ }} expressions and
// shell variables stand for a word the pipeline fills in.
func TestExampleCommandLinesParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "*.yml"))
	require.NoError(t, err)
	own, err := filepath.Glob(filepath.Join("..", "..", ".github", "workflows", "*.yml"))
	require.NoError(t, err)
	files = append(files, own...)
	expr := regexp.MustCompile(`\$\{\{[^}]*\}\}`)
	seen := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc yaml.Node
		require.NoError(t, yaml.Unmarshal(raw, &doc), f)
		for _, script := range scalars(&doc) {
			if !strings.Contains(script, "imagegate ") {
				continue
			}
			prog, err := syntax.NewParser().Parse(strings.NewReader(expr.ReplaceAllString(script, "GHA")), f)
			require.NoError(t, err, "%s: a script that is not shell:\n%s", f, script)
			syntax.Walk(prog, func(n syntax.Node) bool {
				call, ok := n.(*syntax.CallExpr)
				if !ok || len(call.Args) == 0 || path.Base(wordValue(call.Args[0])) != "imagegate" {
					return true
				}
				var args []string
				for _, w := range call.Args[1:] {
					args = append(args, wordValue(w))
				}
				seen++
				root := newRootCmd(io.Discard, io.Discard)
				cmd, rest, err := root.Find(args)
				require.NoError(t, err, "%s: imagegate %v", f, args)
				require.NotEqual(t, root, cmd, "%s: imagegate %v names no command", f, args)
				assert.NoError(t, cmd.ParseFlags(rest), "%s: imagegate %v", f, args)
				return true
			})
		}
	}
	assert.GreaterOrEqual(t, seen, 8, "the examples' imagegate commands were found")
}

// scalars are the string values in a YAML document.
func scalars(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, scalars(c)...)
	}
	return out
}

// wordValue is a shell word's literal value, with "X" for what an expansion fills in.
func wordValue(w *syntax.Word) string {
	var b strings.Builder
	var part func(p syntax.WordPart)
	part = func(p syntax.WordPart) {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				part(q)
			}
		default:
			b.WriteString("X")
		}
	}
	for _, p := range w.Parts {
		part(p)
	}
	return b.String()
}

// Every image source that has a prefix of its own is named where users read the image
// forms: the README's table, 'imagegate scan --help' and the CI image input.
func TestEveryImageSourceIsDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	scanHelp := newScanCmd(io.Discard, io.Discard).Long
	in, ok := inputs.ByName("image")
	require.True(t, ok)
	for _, tr := range image.Transports() {
		if tr == image.Registry {
			continue // a bare reference
		}
		assert.Contains(t, string(readme), "| `"+string(tr)+":", "README")
		assert.Contains(t, scanHelp, "  "+string(tr)+":", "scan --help")
		assert.Contains(t, in.Description, string(tr)+":", "the image input")
	}
}

// The README's demo verdict is what the set-up's first command prints last.
func TestReadmeDemoVerdict(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)ends with the verdict.*?```text\n([^\n]+)\n```").FindSubmatch(readme)
	require.NotNil(t, m, "the README shows the demo's verdict")
	root := filepath.Join("..", "..")
	r := runCLI(t, "scan", "--db", filepath.Join(root, "testdata", "osv"), filepath.Join(root, "testdata", "demo", "demo-image.tar"))
	require.Equal(t, 1, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	assert.Equal(t, string(m[1]), lines[len(lines)-1])
}
