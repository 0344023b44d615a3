package main

import (
	"fmt"
	units "github.com/docker/go-units"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/flags"
	"github.com/imagegate/imagegate/fleet"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/fleetreport"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
)

func newRegistryCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Scan every image of a registry, in shards, and merge the results",
	}
	cmd.AddCommand(newRegistryScanCmd(stdout, stderr), newRegistryMergeCmd(stdout))
	return cmd
}

// notForRegistry are scan flags that name one image's inputs.
var notForRegistry = []string{"dockerfile", "context", "sbom", "base-image", "output", "sarif-category", "image-source", "list-packages", "report-all", "baseline"}

// registryScanHelp is the long help of registry scan.
const registryScanHelp = `List the repositories of a registry (its catalog) or the repositories given, their tags
(filtered by --tag, --since, --newest), and scan each image digest once with the checks of
'imagegate scan'. Layers shared between images (their common base) are analysed once: the
layer cache keeps each registry layer's analysis under its digest.

--shard i/n scans the i-th of n parts of the listing (split by digest: the same on every
machine); run the shards as a GitHub Actions matrix, Azure parallel jobs or a Kubernetes
Indexed Job, then join their output folders with 'imagegate registry merge'.

Each image's base is found from its org.opencontainers.image.base.name/.digest
annotations (or, without them, from another listed image whose layers it starts with);
when the base's tag has moved on since the build, the image is due a rebuild.
--recommend also checks the other tags of each base (newer, next major, -slim and other
flavours), through their attached SBOM when they have one, and lists their vulnerability
counts.

Writes into --output-dir: images/<repository>@<digest>.json (each image's JSON report),
summary.jsonl (a line per run, image, problem and base recommendation), summary.md,
sarif/summary-N.sarif (a run per image, each with its own category, at most 20 runs per
file: GitHub's limit for one upload) and rebuild.json (the images due a rebuild). The
table goes to stdout.

--timeout bounds the whole run (default 10m): give a registry more, or 0 for no limit;
a run cut short writes no summary.

Exit codes: 0 every image passes, 1 an image fails on its findings, 2 usage or input
error, 3 an image or repository could not be scanned (the others are, and are reported).`

func newRegistryScanCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		f                    flags.Scan
		tags                 []string
		since, shard, outDir string
		newest, parallel     int
		recommend            bool
		cache                layerCacheFlags
	)
	cmd := &cobra.Command{
		Use:   "scan REGISTRY|REPOSITORY...",
		Short: "Scan the images of a registry or of repositories",
		Long:  registryScanHelp,
		Example: `  imagegate registry scan registry.example.com --tag 'v*' --newest 3
  imagegate registry scan ghcr.io/org/api ghcr.io/org/web --since 2026-11-01
  imagegate registry scan registry.example.com --shard 2/4 --output-dir shard-2`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return failure.Inputf("registry scan takes a registry or repositories")
			}
			return nil
		},
		RunE: work(func(cmd *cobra.Command, args []string) error {
			opts, filter, err := fleetInputs(cmd, &f, "registry scan", args, notForRegistry, tags, since, newest)
			if err != nil {
				return err
			}
			if parallel < 0 {
				return failure.Inputf("--parallel takes a positive number")
			}
			sh, err := fleet.ParseShard(shard, os.Getenv)
			if err != nil {
				return err
			}
			run := fleet.Run{Targets: args, Filter: filter, Shard: sh, Recommend: recommend, Options: fleet.Options{Request: opts, Parallel: parallel, Dir: outDir}}
			if err := cache.apply(&run); err != nil {
				return err
			}
			fl, err := run.Do(cmd.Context())
			if err != nil {
				return err
			}
			return finishFleet(fl, f.Format, stdout)
		}),
	}
	f.Register(cmd.Flags())
	for _, n := range notForRegistry {
		_ = cmd.Flags().MarkHidden(n)
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&tags, "tag", nil, "scan only tags matching this shell pattern (repeatable), e.g. 'v1.*'")
	fl.StringVar(&since, "since", "", "scan only images created since a date (2026-11-01, RFC 3339) or a duration ago (72h, 30d)")
	fl.IntVar(&newest, "newest", 0, "scan only the N most recently created images of each repository")
	fl.StringVar(&shard, "shard", "", "scan part i of n of the listing (i/n, from 1/n to n/n); auto: from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, IMAGEGATE_SHARDS) or Azure parallel jobs")
	fl.IntVar(&parallel, "parallel", 2, "images scanned at once")
	fl.StringVar(&outDir, "output-dir", "imagegate-registry", "folder for the per-image reports and the summary files")
	cache.register(fl)
	fl.BoolVar(&recommend, "recommend", false, "check the other tags of each base image in use (newer, next major, other flavours such as -slim) and list their vulnerability counts")
	return cmd
}

// layerCacheFlags are where registry scan keeps layers' analyses, and how much.
type layerCacheFlags struct {
	dir, size string
	age       time.Duration
}

func (c *layerCacheFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&c.dir, "layer-cache", "", "layer cache folder, private to the user (default $IMAGEGATE_LAYER_CACHE, else imagegate/layers in the user cache; none: no cache)")
	fl.DurationVar(&c.age, "layer-cache-max-age", 30*24*time.Hour, "remove layer cache entries not used for this long, before the scan (0: keep all)")
	fl.StringVar(&c.size, "layer-cache-max-size", "10GiB", "then remove the least recently used layer cache entries until the cache fits in this size (0: no limit)")
}

// apply sets the run's layer cache from the flags (the folder defaults to
// $IMAGEGATE_LAYER_CACHE, else the user cache's).
func (c *layerCacheFlags) apply(run *fleet.Run) error {
	switch {
	case c.dir == "none":
		run.LayerCache = ""
	case c.dir == "" && os.Getenv("IMAGEGATE_LAYER_CACHE") != "":
		run.LayerCache = os.Getenv("IMAGEGATE_LAYER_CACHE")
	case c.dir == "":
		run.LayerCache = fleet.DefaultLayerCache
	default:
		run.LayerCache = c.dir
	}
	maxBytes, err := units.RAMInBytes(c.size)
	if err != nil || maxBytes < 0 {
		return failure.Inputf("--layer-cache-max-size %q: want a size such as 10GiB or 512MiB, or 0 for no limit", c.size)
	}
	run.LayerCacheMaxAge, run.LayerCacheMaxBytes = c.age, maxBytes
	return nil
}

func newRegistryMergeCmd(stdout io.Writer) *cobra.Command {
	var format, outDir string
	cmd := &cobra.Command{
		Use:   "merge DIR...",
		Short: "Join the output folders of a sharded registry scan",
		Long: `Join the output folders of the shards of one 'imagegate registry scan --shard i/n': checks
that they are every shard of one listing, each once, and that their images add up to it
(a missing or foreign shard is an error, never a smaller summary), then writes the joined
summary.jsonl, summary.md, sarif/ and rebuild.json into --output-dir and the table to
stdout.
The exit code is the registry scan's, over all images.`,
		Example: `  imagegate registry merge shard-1 shard-2 shard-3 shard-4 --output-dir registry-report`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return failure.Inputf("registry merge takes the shards' output folders")
			}
			return nil
		},
		RunE: work(func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "markdown" && format != "json" {
				return failure.Inputf("--format %q: want table, markdown or json", format)
			}
			fl, runs, err := fleet.Merge(args)
			if err != nil {
				return err
			}
			if err := fleet.WriteSummary(outDir, fl, runs); err != nil {
				return err
			}
			return finishFleet(fl, format, stdout)
		}),
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "summary format on stdout: table, markdown or json")
	cmd.Flags().StringVar(&outDir, "output-dir", "imagegate-registry", "folder for the merged summary files")
	return cmd
}

// fleetInputs checks what registry scan and rescan share (flags that are one image's,
// the format, the filter) and gives the scan request and the filter.
func fleetInputs(cmd *cobra.Command, f *flags.Scan, what string, targets, notFor, tags []string, since string, newest int) (scanner.Request, fleet.Filter, error) {
	for _, n := range notFor {
		if cmd.Flags().Changed(n) {
			return scanner.Request{}, fleet.Filter{}, failure.Inputf("--%s is for one image's scan, not for %s", n, what)
		}
	}
	if f.Format != "table" && f.Format != "markdown" && f.Format != "json" {
		return scanner.Request{}, fleet.Filter{}, failure.Inputf("--format %q: %s writes table, markdown or json (the summary's JSON lines)", f.Format, what)
	}
	if newest < 0 {
		return scanner.Request{}, fleet.Filter{}, failure.Inputf("--newest takes a positive number")
	}
	opts, err := f.Request()
	if err != nil {
		return scanner.Request{}, fleet.Filter{}, err
	}
	// --username/--password are for the registries named here, never for a base image or
	// a recommendation another registry's image points at.
	opts.Registry.CredentialsFor = append(opts.Registry.CredentialsFor, fleet.TargetRegistries(targets)...)
	filter := fleet.Filter{Tags: tags, Newest: newest}
	if filter.Since, err = parseSince(since, time.Now()); err != nil {
		return scanner.Request{}, fleet.Filter{}, err
	}
	return opts, filter, nil
}

func finishFleet(fl *report.Fleet, format string, stdout io.Writer) error {
	write := fleetreport.WriteTable
	switch format {
	case "markdown":
		write = fleetreport.WriteMarkdown
	case "json":
		write = fleet.WriteJSONLines
	}
	if err := output.Buffered(stdout, func(w io.Writer) error { return write(w, fl) }); err != nil {
		return fmt.Errorf("writing the summary: %w", err)
	}
	switch fl.Outcome().ExitCode() {
	case failure.ExitIncomplete:
		return failure.Incompletef("%s", strings.TrimPrefix(fleetreport.Verdict(fl), "FAIL (incomplete) "))
	case failure.ExitFindings:
		return &gateError{}
	}
	return nil
}

// parseSince reads a date, an RFC 3339 time, or a duration before now (with d for days).
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, failure.Inputf("--since %q: want a date (2026-11-01), an RFC 3339 time or a duration (72h, 30d)", s)
}

func newRescanCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		f                    flags.Scan
		tags                 []string
		since, outDir, state string
		newest               int
		tv                   flags.Trust
	)
	cmd := &cobra.Command{
		Use:   "rescan REGISTRY|REPOSITORY|SBOM-FILE...",
		Short: "Re-check stored SBOMs against fresh vulnerability data and report what is new",
		Long: `Re-check images without pulling them: read the SBOM attached to each image of a registry
or repository ('imagegate sbom IMAGE --attach' puts it there), or SBOM files, match their
packages against the current vulnerability data, and compare with the last rescan
(--state): the report says which findings are new. Run it nightly, as 'snyk monitor' and
a registry's weekly re-scan do.

Only signed SBOMs are believed from a registry ('imagegate sbom IMAGE --attach --sign',
or 'cosign attest --type cyclonedx'): give the public key (--verify-key) or the signer's
identity (--certificate-identity, --certificate-oidc-issuer, --trusted-root). An image
whose attached SBOMs are unsigned, signed by someone else, or about another image was not
re-checked: exit 3, and its state is left as it was. --insecure-unsigned-sbom reads
unsigned SBOMs instead (anyone who can push can attach one), with a warning.

The gate is on what is new: exit 1 when new findings meet the threshold. Exit 3 when an
image has no SBOM attached or its SBOM cannot be read or verified (it was not re-checked),
2 for bad input. The first rescan of an image counts every finding as new.`,
		Example: `  imagegate rescan registry.example.com --verify-key cosign.pub --state rescan-state.json
  imagegate rescan ghcr.io/org/api --tag 'v*' --newest 5 --state state.json --format markdown
  imagegate rescan app.cdx.json web.cdx.json --state state.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return failure.Inputf("rescan takes registries, repositories or SBOM files")
			}
			return nil
		},
		RunE: work(func(cmd *cobra.Command, args []string) error {
			opts, filter, err := fleetInputs(cmd, &f, "rescan", args, append(notForRegistry, "scanners"), tags, since, newest)
			if err != nil {
				return err
			}
			if state == "" {
				state = filepath.Join(outDir, "rescan-state.json")
			}
			tv.Default(opts.Config.Trust.SBOM, opts.Config.Path+" trust.sbom")
			v, err := tv.Verifier()
			if err != nil {
				return err
			}
			r := fleet.Rescan{Targets: args, Filter: filter, State: state, Options: fleet.Options{Request: opts, Dir: outDir}, AllowUnsigned: tv.Insecure}
			if v != nil {
				r.Verifier = v
			} else if tv.Insecure {
				fmt.Fprintf(stderr, "imagegate: warning: --insecure-unsigned-sbom: unsigned SBOMs are believed; anyone who can push to the registry can attach one that hides every finding\n")
			}
			fl, err := r.Do(cmd.Context())
			if err != nil {
				return err
			}
			return finishFleet(fl, f.Format, stdout)
		}),
	}
	f.Register(cmd.Flags())
	for _, n := range append(notForRegistry, "scanners") {
		_ = cmd.Flags().MarkHidden(n)
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&tags, "tag", nil, "re-check only tags matching this shell pattern (repeatable)")
	fl.StringVar(&since, "since", "", "re-check only images created since a date (2026-11-01, RFC 3339) or a duration ago (72h, 30d)")
	fl.IntVar(&newest, "newest", 0, "re-check only the N most recently created images of each repository")
	fl.StringVar(&outDir, "output-dir", "imagegate-rescan", "folder for the per-image reports and the summary files")
	fl.StringVar(&state, "state", "", "file that remembers each image's findings between rescans (default OUTPUT-DIR/rescan-state.json); keep it in a CI cache")
	tv.Register(fl, "", "insecure-unsigned-sbom", "the attached SBOMs")
	return cmd
}
