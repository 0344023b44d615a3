package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imagegate/imagegate/reporters/visible"
	"github.com/imagegate/imagegate/scanner/ecosystem"
	"github.com/imagegate/imagegate/trust"

	"github.com/spf13/cobra"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/flags"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

func newDBCmd(stdout, stderr io.Writer) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage the local vulnerability database (OSV data)",
		Long: `imagegate matches packages against OSV records kept in a local database folder.

The folder is --db, else $IMAGEGATE_DB, else imagegate/db in the user cache folder.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "db", "", "database folder (default $IMAGEGATE_DB or the user cache)")
	folder := func() string {
		if dir != "" {
			return dir
		}
		return vulndb.DefaultDir()
	}
	cmd.AddCommand(newDBUpdateCmd(folder, stdout, stderr), newDBImportCmd(folder, stdout), newDBPushCmd(folder, stdout), newDBPullCmd(folder, stdout, stderr), newDBStatusCmd(folder, stdout))
	return cmd
}

func newDBUpdateCmd(folder func() string, stdout, stderr io.Writer) *cobra.Command {
	var ecosystems, ratings []string
	var source string
	update := &cobra.Command{
		Use:   "update",
		Short: "Download OSV's per-ecosystem exports (only what changed)",
		Args:  cobra.NoArgs,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			if err := vulndb.CheckEcosystems(ecosystems); err != nil {
				return err
			}
			results, err := vulndb.Update(cmd.Context(), folder(), vulndb.UpdateOptions{
				Source:     source,
				Ecosystems: ecosystems,
				Ratings:    ratings,
				Log:        stderr,
				Terminal:   isTerminal(stderr) && os.Getenv("CI") == "",
			})
			if err != nil {
				return err
			}
			changed := 0
			for _, r := range results {
				if r.Changed {
					changed++
				}
			}
			fmt.Fprintf(stdout, "%s: %d ecosystems updated, %d unchanged\n", folder(), changed, len(results)-changed)
			return nil
		}),
	}
	update.Flags().StringSliceVar(&ecosystems, "ecosystems", nil, "ecosystems to fetch (default: "+strings.Join(ecosystem.Names(), ",")+")")
	update.Flags().StringVar(&source, "source", "", "base URL of the exports (default "+vulndb.DefaultSource+")")
	update.Flags().StringSliceVar(&ratings, "ratings-from", nil, "more ecosystems fetched for their severities alone (e.g. AlmaLinux, Ubuntu, Red Hat, SUSE: their ratings of CVEs are lent to findings other advisories leave unrated); a few per cent of a full import")
	return update
}

func newDBImportCmd(folder func() string, stdout io.Writer) *cobra.Command {
	var ratingsOnly bool
	cmd := &cobra.Command{
		Use:   "import PATH...",
		Short: "Import OSV all.zip files or folders of OSV JSON (offline, air-gapped)",
		Example: `  imagegate db import osv/Alpine/all.zip osv/npm/all.zip
  imagegate db import --ratings-only osv/AlmaLinux/all.zip   # lend its CVE ratings to Alpine findings`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return failure.Inputf("db import takes one or more all.zip files or folders")
			}
			return nil
		},
		RunE: work(func(cmd *cobra.Command, args []string) error {
			if ratingsOnly {
				for _, p := range args {
					i, err := vulndb.ImportRatings(cmd.Context(), folder(), p)
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout, "%s: the ratings of %d records, lent to other ecosystems' findings (its packages are not matched)\n", i.Ecosystem, i.Records)
				}
				return nil
			}
			infos, err := vulndb.Import(cmd.Context(), folder(), args...)
			if err != nil {
				return err
			}
			for _, i := range infos {
				fmt.Fprintf(stdout, "%s: %d records (%d skipped as not OSV JSON, %d withdrawn)\n", i.Ecosystem, i.Records, i.Skipped, i.Withdrawn)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&ratingsOnly, "ratings-only", false, "keep only the severities of each all.zip (CVSS vectors and vendor ratings, by id and by the CVEs each record names): findings of other ecosystems that carry none borrow them; a fraction of a full import")
	return cmd
}

// oneRef is the argument check of push and pull.
func oneRef(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return failure.Inputf("give exactly one artifact reference (REGISTRY/REPOSITORY:TAG)")
	}
	return nil
}

func newDBPushCmd(folder func() string, stdout io.Writer) *cobra.Command {
	var (
		insecure bool
		signing  flags.Signing
	)
	push := &cobra.Command{
		Use:   "push REF",
		Short: "Push the database as an OCI artifact (one layer per ecosystem) to any registry",
		Long: `Push the database folder to a registry as an OCI artifact: one gzip tar layer per
ecosystem (its index, description and scores), media types
` + string(vulndb.ArtifactType) + ` (config) and ` + string(vulndb.LayerType) + `
(layers), annotated with the index layout and each ecosystem's records, source and update
time. Credentials come from docker login (or a credential helper). Mirror it with
'crane copy' or 'oras copy'; scan with --db oci://REF or pull it with 'imagegate db pull'.`,
		Args: oneRef,
		RunE: work(func(cmd *cobra.Command, args []string) error {
			ro := vulndb.RemoteOptions{Insecure: insecure}
			var err error
			if ro.Signer, err = signing.Signer(cmd.Context()); err != nil {
				return err
			}
			d, err := vulndb.Push(cmd.Context(), folder(), args[0], ro)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "pushed %s@%s\n", args[0], d)
			return nil
		}),
	}
	push.Flags().BoolVar(&insecure, "insecure-registry", false, "allow a plain-HTTP registry")
	signing.Register(push.Flags(), "the artifact (an in-toto statement about its digest naming each ecosystem's records, update time and index digest, in a Sigstore bundle attached beside it)")
	return push
}

func newDBPullCmd(folder func() string, stdout, stderr io.Writer) *cobra.Command {
	var (
		insecure bool
		tv       flags.Trust
		cfgPath  string
	)
	pull := &cobra.Command{
		Use:   "pull REF",
		Short: "Pull a database artifact into the database folder, digest-verified",
		Long: `Pull a database pushed with 'imagegate db push' into the database folder. Every layer is
checked against its digest and every index against its description before anything in
the folder changes: an interrupted or tampered pull keeps the previous data. Only a
signed artifact is used ('imagegate db push --sign'): give the key (--verify-key) or the
identity (--certificate-identity, --certificate-oidc-issuer, --trusted-root) that signs
it; an unsigned or foreign one is refused (exit 3) unless --insecure-unsigned-db.`,
		Args: oneRef,
		RunE: work(func(cmd *cobra.Command, args []string) error {
			v, err := dbVerifier(&tv, cfgPath)
			if err != nil {
				return err
			}
			if v == nil && tv.Insecure {
				fmt.Fprintf(stderr, "imagegate: warning: --insecure-unsigned-db: the artifact's signature is not checked; whoever can push to it decides what the gate knows\n")
			}
			p, err := vulndb.Pull(cmd.Context(), folder(), args[0], vulndb.RemoteOptions{Insecure: insecure, Verifier: v, AllowUnsigned: tv.Insecure})
			if failure.SettingOf(err) == "db-verify-key" {
				err = failure.WithSetting(err, "verify-key") // this command's flag for it
			}
			if err != nil {
				return err
			}
			if p.Unchanged {
				fmt.Fprintf(stdout, "%s: already %s\n", folder(), p.Digest)
				return nil
			}
			fmt.Fprintf(stdout, "%s: pulled %s (%s)\n", folder(), p.Digest, strings.Join(p.Ecosystems, ", "))
			return nil
		}),
	}
	pull.Flags().BoolVar(&insecure, "insecure-registry", false, "allow a plain-HTTP registry")
	tv.Register(pull.Flags(), "", "insecure-unsigned-db", "the database artifact")
	pull.Flags().StringVar(&cfgPath, "config", "", "config file whose trust.db names the signer when no flag does (default ./"+config.FileName+" when present)")
	return pull
}

func newDBStatusCmd(folder func() string, stdout io.Writer) *cobra.Command {
	var (
		tv      flags.Trust
		cfgPath string
	)
	status := &cobra.Command{
		Use:   "status",
		Short: "Show what the database holds, where it came from and how old it is",
		Long: `Show what the database holds, where it came from and how old it is. Given the key or
identity that signs the artifact a folder was pulled from (the flags of 'db pull', or the
config's trust.db), the signature kept beside the data is verified again and the indexes checked
against it: a folder that does not verify (a restored cache altered) is exit 3.`,
		Args: cobra.NoArgs,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			v, err := dbVerifier(&tv, cfgPath)
			if err != nil {
				return err
			}
			pulled := vulndb.PulledFrom(folder()) != ""
			if v != nil && pulled {
				if err := vulndb.VerifyPulled(folder(), v); err != nil {
					return failure.Incompletef("db status: the database %s does not verify: %v", folder(), err)
				}
			}
			s, err := vulndb.OpenPath(cmd.Context(), folder())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.IndexAll(); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "database %s\n", s.Dir())
			signed, isSigned := vulndb.SignedBy(s.Dir())
			if a := vulndb.PulledFrom(s.Dir()); a != "" {
				how := "unsigned (pulled with --insecure-unsigned-db)"
				switch {
				case v != nil:
					how = "signature verified when pulled and again now"
				case isSigned:
					// Only the folder says so: it may be a restored cache.
					how = "signature verified when pulled, as the folder records (not checked now: name the signer, as for db pull, to check it)"
				}
				fmt.Fprintf(stdout, "artifact %s, %s\n", visible.String(a), how) // the folder's marks may come from a restored cache
			}
			fmt.Fprintln(stdout)
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ECOSYSTEM\tRECORDS\tUPDATED\tAGE\tINDEX\tSIGNED\tSOURCE")
			for _, i := range s.Infos() {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.1f MiB\t%s\t%s\n", visible.String(i.Ecosystem), i.Records, i.Updated.Format("2006-01-02 15:04"), age(i.Updated), float64(i.Size)/(1<<20), signedAs(signed, isSigned, i), visible.String(i.Source))
			}
			return tw.Flush()
		}),
	}
	tv.Register(status.Flags(), "", "", "the database artifact it was pulled from")
	status.Flags().StringVar(&cfgPath, "config", "", "config file whose trust.db names the signer when no flag does (default ./"+config.FileName+" when present)")
	return status
}

// dbVerifier is the verifier of database artifacts the flags name, else the config file's
// trust.db (nil: none named).
func dbVerifier(tv *flags.Trust, cfgPath string) (*trust.Verifier, error) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, err
	}
	tv.Default(cfg.Trust.DB, cfg.Path+" trust.db")
	return tv.Verifier()
}

// signedAs says what the artifact's signature said of an ecosystem: its records and
// update time, when they match the data ("-": not pulled signed).
func signedAs(s *vulndb.Signed, ok bool, info vulndb.Info) string {
	if !ok {
		return "-"
	}
	for _, e := range s.Ecosystems {
		if e.Ecosystem == info.Ecosystem && e.IndexSHA256 == info.IndexSHA256 {
			return fmt.Sprintf("%d records, %s", e.Records, e.Updated.Format("2006-01-02"))
		}
	}
	return "no (not the signed index)"
}

func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
