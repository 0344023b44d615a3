package dockerfile

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/imageref"
	"github.com/imagegate/imagegate/scanner/secrets"
)

// def builds a rule; HelpURI points at its anchor in docs/rules.md.
func def(id string, sev report.Severity, title, hadolint, dockle, rationale, fix string, check func(*checker)) rule {
	return rule{Rule: report.Rule{
		ID: id, Title: title, Severity: sev, Rationale: rationale, Fix: fix,
		HelpURI: DocsURL + "#" + strings.ToLower(id), Hadolint: hadolint, Dockle: dockle,
	}, check: check}
}

const (
	low    = report.Low
	medium = report.Medium
	high   = report.High
	crit   = report.Critical
)

// registry holds every rule, by id. Ids are stable: a rule that goes away leaves a gap.
var registry = []rule{
	def("DF001", high, "The image runs as root: the final stage sets no USER", "", "CIS-DI-0001",
		"A container that runs as root turns any code execution bug into root on the container, and one kernel or runtime flaw away from root on the host.",
		"Create an unprivileged user and switch to it in the final stage: `RUN useradd -r -u 10001 app` then `USER 10001`.",
		checkNoUser),
	def("DF002", high, "The last USER is root", "DL3002", "CIS-DI-0001",
		"Switching back to root at the end means the container runs as root.",
		"Make the last USER of the final stage an unprivileged user (a name or a UID other than 0).",
		checkRootUser),
	def("DF003", medium, "Base image not pinned by digest", "", "",
		"A tag can be moved to different content at any time; only a digest names exactly the image you tested, and makes builds reproducible.",
		"Pin the base image: `FROM alpine:3.20@sha256:<digest>` (tools such as Renovate or Dependabot keep digests current).",
		checkDigest),
	def("DF004", medium, "Base image uses the latest tag", "DL3007", "",
		"`latest` changes under you: the next build may pull a different major version with different packages and vulnerabilities.",
		"Name an explicit version tag, and pin it by digest.",
		checkLatest),
	def("DF005", medium, "Base image has no tag", "DL3006", "",
		"An untagged FROM means `latest`, with the same surprises.",
		"Name an explicit version tag, and pin it by digest.",
		checkUntagged),
	def("DF006", low, "ADD used to copy local files", "DL3020", "CIS-DI-0009",
		"ADD silently extracts archives and fetches URLs; COPY does only what it says.",
		"Use COPY for files and folders.",
		checkAddLocal),
	def("DF007", medium, "ADD fetches a remote URL", "DL3020", "CIS-DI-0009",
		"A file fetched at build time is not checked unless you give a checksum, and its content can change between builds.",
		"Download with curl or wget in a RUN that verifies a checksum, or use `ADD --checksum=sha256:...`.",
		checkAddURL),
	def("DF008", low, "ADD extracts a local archive", "", "",
		"ADD unpacks tar archives implicitly, which hides what ends up in the image.",
		"Make the extraction explicit (`COPY` the archive and `RUN tar -xf`), or keep ADD deliberately and ignore this rule on that line.",
		checkAddArchive),
	def("DF009", crit, "Secret in ENV", "", "CIS-DI-0010",
		"ENV values are stored in the image config: anyone who can pull the image can read them with `docker inspect`.",
		"Pass secrets at run time (orchestrator secrets, mounted files), or at build time with `RUN --mount=type=secret`.",
		checkSecretEnv),
	def("DF010", high, "Secret passed as a build argument", "", "CIS-DI-0010",
		"Build arguments are recorded in the image history (`docker history`) and in build caches.",
		"Use `RUN --mount=type=secret,id=...` for build-time secrets.",
		checkSecretArg),
	def("DF011", medium, "Broad COPY without a .dockerignore", "", "",
		"`COPY . .` sends the whole build context into the image: .git history, .env files, keys and credentials included.",
		"Add a .dockerignore that excludes at least .git, .env, *.pem, *.key, id_rsa, .npmrc and .aws, or copy only what the image needs.",
		checkBroadCopyNoIgnore),
	def("DF012", high, ".dockerignore lets sensitive files into the image", "", "",
		"A broad COPY copies whatever the .dockerignore does not exclude; keys and credentials then ship in a layer.",
		"Add the listed patterns to .dockerignore.",
		checkIgnoreLeaks),
	def("DF013", low, "Build tools in the final stage", "", "",
		"Compilers and build tools in the runtime image add attack surface and vulnerabilities for nothing at run time.",
		"Build in an earlier stage and COPY --from it only the artifacts into a slim final stage.",
		checkBuildTools),
	def("DF014", high, "Remote script piped into a shell", "", "",
		"`curl ... | sh` runs whatever the server sends at build time, unverified.",
		"Download the script, verify its checksum or signature, then run it.",
		checkCurlPipeShell),
	def("DF015", low, "apt-get install without -y", "DL3014", "",
		"Without -y the build stops at the confirmation prompt.",
		"Use `apt-get install -y`.",
		checkNonInteractive("apt-get", 'y', "--yes", "--assume-yes")),
	def("DF016", low, "apt-get install without --no-install-recommends", "DL3015", "",
		"Recommended packages add size and vulnerabilities the image does not need.",
		"Use `apt-get install -y --no-install-recommends`.",
		checkFlag("apt-get", "--no-install-recommends", "recommended packages are installed too")),
	def("DF017", low, "apt packages not pinned", "DL3008", "",
		"Unpinned packages make builds unreproducible: the next build may install other versions.",
		"Pin versions: `apt-get install -y curl=7.88.1-10+deb12u5`.",
		checkPinned("apt-get")),
	def("DF018", low, "apt lists not removed", "DL3009", "",
		"The package lists stay in the layer: megabytes of stale metadata.",
		"End the same RUN with `rm -rf /var/lib/apt/lists/*` (or use a cache mount).",
		checkAptLists),
	def("DF019", low, "Upgrade of all packages in the image", "DL3005", "",
		"`apt-get upgrade` makes the image depend on the day of the build; rebuild on a fresher base image instead.",
		"Use an up-to-date base image, or pin the packages you need newer.",
		checkUpgrade),
	def("DF020", low, "apt used instead of apt-get", "DL3027", "",
		"apt is meant for people; its interface is not stable for scripts.",
		"Use apt-get or apt-cache.",
		checkAptNotAptGet),
	def("DF021", low, "apk add without --no-cache", "DL3019", "",
		"The apk index stays in the layer.",
		"Use `apk add --no-cache`.",
		checkApkCache),
	def("DF022", low, "apk packages not pinned", "DL3018", "",
		"Unpinned packages make builds unreproducible.",
		"Pin versions: `apk add --no-cache curl=8.9.1-r1`.",
		checkPinned("apk")),
	def("DF023", low, "apk upgrade in the image", "DL3017", "",
		"Upgrading all packages makes the image depend on the day of the build.",
		"Use an up-to-date base image, or pin the packages you need newer.",
		checkApkUpgrade),
	def("DF024", low, "yum install without -y", "DL3030", "",
		"Without -y the build stops at the confirmation prompt.",
		"Use `yum install -y`.",
		checkNonInteractive("yum", 'y', "--assumeyes")),
	def("DF025", low, "yum packages not pinned", "DL3033", "",
		"Unpinned packages make builds unreproducible.",
		"Pin versions: `yum install -y httpd-2.4.57`.",
		checkPinned("yum")),
	def("DF026", low, "yum cache not cleaned", "DL3032", "",
		"The yum cache stays in the layer.",
		"End the same RUN with `yum clean all`.",
		checkClean("yum", "clean")),
	def("DF027", low, "dnf install without -y", "DL3038", "",
		"Without -y the build stops at the confirmation prompt.",
		"Use `dnf install -y`.",
		checkNonInteractive("dnf", 'y', "--assumeyes")),
	def("DF028", low, "dnf packages not pinned", "DL3041", "",
		"Unpinned packages make builds unreproducible.",
		"Pin versions: `dnf install -y httpd-2.4.57`.",
		checkPinned("dnf")),
	def("DF029", low, "dnf cache not cleaned", "DL3040", "",
		"The dnf cache stays in the layer.",
		"End the same RUN with `dnf clean all`.",
		checkClean("dnf", "clean")),
	def("DF030", low, "zypper install without -n", "DL3034", "",
		"Without --non-interactive the build stops at a prompt.",
		"Use `zypper --non-interactive install` (or `-n`, or `install -y`).",
		checkZypperNonInteractive),
	def("DF031", low, "zypper packages not pinned", "DL3037", "",
		"Unpinned packages make builds unreproducible.",
		"Pin versions: `zypper install -y curl=8.0.1`.",
		checkPinned("zypper")),
	def("DF032", low, "zypper cache not cleaned", "DL3036", "",
		"The zypper cache stays in the layer.",
		"End the same RUN with `zypper clean`.",
		checkClean("zypper", "clean", "cc")),
	def("DF033", low, "zypper dist-upgrade in the image", "DL3035", "",
		"Upgrading the distribution makes the image depend on the day of the build.",
		"Use an up-to-date base image.",
		checkZypperDup),
	def("DF034", low, "pip packages not pinned", "DL3013", "",
		"Unpinned packages make builds unreproducible and can pull a compromised new release.",
		"Pin versions (`pip install flask==3.0.3`) or install from a lock or requirements file.",
		checkPinned("pip")),
	def("DF035", low, "pip install without --no-cache-dir", "DL3042", "",
		"pip's download cache stays in the layer.",
		"Use `pip install --no-cache-dir` (or set PIP_NO_CACHE_DIR=1).",
		checkPipCache),
	def("DF036", low, "npm packages not pinned", "DL3016", "",
		"Unpinned packages make builds unreproducible and can pull a compromised new release.",
		"Pin versions (`npm install express@4.21.1`), or use `npm ci` with a lock file.",
		checkPinned("npm")),
	def("DF037", low, "gem packages not pinned", "DL3028", "",
		"Unpinned packages make builds unreproducible.",
		"Pin versions: `gem install bundler:2.5.22` or `-v`.",
		checkPinned("gem")),
	def("DF038", low, "go install without a version", "DL3062", "",
		"`go install pkg` or `@latest` builds whatever is newest on the day.",
		"Name a version: `go install golang.org/x/tools/gopls@v0.16.2`.",
		checkPinned("go")),
	def("DF039", medium, "sudo in a RUN", "DL3004", "",
		"sudo has unpredictable TTY and signal behaviour in containers, and its presence in the image is an escalation path.",
		"RUN steps already run as the current USER; switch USER around the steps that need root instead.",
		checkSudo),
	def("DF040", low, "cd used to change folders", "DL3003", "",
		"A cd lasts for one RUN only; WORKDIR is clearer and lasts.",
		"Use WORKDIR.",
		checkCd),
	def("DF041", low, "Relative WORKDIR", "DL3000", "",
		"A relative WORKDIR depends on the previous one and is easy to get wrong.",
		"Use an absolute path.",
		checkRelativeWorkdir),
	def("DF042", low, "CMD or ENTRYPOINT in shell form", "DL3025", "",
		"In shell form the process runs under /bin/sh -c and does not receive signals: the container cannot stop gracefully.",
		`Use the JSON form: CMD ["node", "server.js"].`,
		checkJSONForm),
	def("DF043", low, "Several CMD instructions in a stage", "DL4003", "",
		"Only the last CMD takes effect; the others mislead readers.",
		"Keep one CMD per stage.",
		checkMultiple("cmd")),
	def("DF044", low, "Several ENTRYPOINT instructions in a stage", "DL4004", "",
		"Only the last ENTRYPOINT takes effect; the others mislead readers.",
		"Keep one ENTRYPOINT per stage.",
		checkMultiple("entrypoint")),
	def("DF045", low, "MAINTAINER is deprecated", "DL4000", "",
		"MAINTAINER is deprecated since Docker 1.13.",
		`Use LABEL org.opencontainers.image.authors="..." instead.`,
		checkMaintainer),
	def("DF046", low, "Pipe without pipefail", "DL4006", "",
		"Without pipefail a pipeline's status is its last command's: `curl ... | tar x` succeeds even when the download failed.",
		`Start the RUN with set -o pipefail, or set SHELL ["/bin/bash", "-o", "pipefail", "-c"].`,
		checkPipefail),
	def("DF047", medium, "COPY --from names an unknown stage", "DL3022", "",
		"The name is not a stage of this Dockerfile: BuildKit will try to pull an image of that name.",
		"Name a stage defined above (FROM ... AS name) or a full image reference.",
		checkCopyFromUnknown),
	def("DF048", medium, "COPY --from names its own stage", "DL3023", "",
		"A stage cannot copy from itself.",
		"Name an earlier stage.",
		checkCopyFromSelf),
	def("DF049", medium, "Duplicate stage name", "DL3024", "",
		"Two stages with the same name make COPY --from and --target ambiguous.",
		"Give every stage a unique name.",
		checkDuplicateStages),
	def("DF050", medium, "EXPOSE port out of range", "DL3011", "",
		"Ports are 0-65535.",
		"Fix the port number.",
		checkExposeRange),
	def("DF051", low, "Several HEALTHCHECK instructions", "DL3012", "",
		"Only the last HEALTHCHECK takes effect.",
		"Keep one HEALTHCHECK.",
		checkMultiple("healthcheck")),
	def("DF052", low, "useradd with a high UID without -l", "DL3046", "",
		"useradd writes lastlog/faillog entries sized by the UID: a high UID without -l makes a sparse file of gigabytes.",
		"Add -l (--no-log-init) to useradd.",
		checkUseradd),
	def("DF053", low, "Invalid label key", "DL3048", "",
		"Label keys should be lower-case reverse-DNS names; the com.docker.*, io.docker.* and org.dockerproject.* namespaces are reserved.",
		"Use keys such as org.opencontainers.image.source.",
		checkLabelKeys),
	def("DF054", medium, "Sensitive port exposed", "", "DKL-DI-0006",
		"SSH (22), Telnet (23) and RDP (3389) in a container mean remote shells and credentials inside the image.",
		"Do not run remote shells in containers; use `docker exec` or `kubectl exec`.",
		checkSensitivePorts),
	def("DF055", low, "No HEALTHCHECK in the final stage", "", "CIS-DI-0006",
		"Without a health check the runtime cannot tell a hung service from a working one.",
		"Add a HEALTHCHECK, or rely on your orchestrator's probes and ignore this rule.",
		checkNoHealthcheck),
	def("DF056", medium, "World-writable permissions set", "", "",
		"chmod 777 (or o+w) lets any process in the container change those files.",
		"Grant the least access: chown to the service user and use 755/644.",
		checkChmod777),
	def("DF057", low, "Both wget and curl used", "DL4001", "",
		"Two download tools where one would do add size and attack surface.",
		"Use one of them.",
		checkWgetAndCurl),
	def("DF058", high, "Key or credential file copied into the image", "", "CIS-DI-0010",
		"A key or credential file copied into a layer ships with the image, even if a later step deletes it.",
		"Use `RUN --mount=type=secret` or `--mount=type=ssh` at build time; never COPY keys.",
		checkCopySensitive),
	def("DF059", high, "Invalid instruction", "", "",
		"BuildKit rejects this instruction: the build will fail here.",
		"Fix the instruction as the message says.",
		checkInvalid),
	def("DF060", low, "Dockerfile parser warning", "", "",
		"BuildKit warns about this line (an empty continuation line, say); a future version may reject it.",
		"Fix the line as the message says.",
		checkParserWarnings),
}

// --- stages and users -----------------------------------------------------------------

// userOf returns the last USER of a stage (following FROM <stage> chains) and the
// instruction that set it.
func userOf(d *Dockerfile, s *Stage, depth int) (string, *Instruction) {
	for i := len(s.Instructions) - 1; i >= 0; i-- {
		if in := s.Instructions[i]; in.Cmd == "user" && len(in.Args) > 0 {
			return in.Args[0], in
		}
	}
	if depth < len(d.Stages) {
		if parent := d.StageByName(s.BaseRaw); parent != nil && parent.Index < s.Index {
			return userOf(d, parent, depth+1)
		}
	}
	return "", nil
}

func isRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "root" || u == "0"
}

// rootBase follows FROM <stage> chains to the image a stage is built on.
func rootBase(d *Dockerfile, s *Stage) string {
	for depth := 0; depth < len(d.Stages); depth++ {
		parent := d.StageByName(s.BaseRaw)
		if parent == nil || parent.Index >= s.Index {
			break
		}
		s = parent
	}
	return s.Base
}

func checkNoUser(c *checker) {
	final := c.d.Final()
	if user, _ := userOf(c.d, final, 0); user != "" {
		return
	}
	base := strings.ToLower(rootBase(c.d, final))
	if base == "scratch" || strings.Contains(base, "nonroot") || strings.Contains(base, "rootless") {
		return // scratch has no users; *nonroot bases already run unprivileged
	}
	c.report(final.From, "the final stage (FROM %s) never sets USER, so the container runs as the base image's user, usually root", final.BaseRaw)
}

func checkRootUser(c *checker) {
	final := c.d.Final()
	if user, in := userOf(c.d, final, 0); in != nil && isRoot(user) {
		c.report(in, "the final stage runs as %q", user)
	}
}

// --- base images ----------------------------------------------------------------------

// baseRef splits a FROM image into its tag and digest; stage references, scratch and
// unresolved variables are skipped (ok false).
func (c *checker) baseRef(s *Stage) (tag, digest string, ok bool) {
	b := s.Base
	if b == "" || strings.EqualFold(b, "scratch") || strings.Contains(b, "$") {
		return "", "", false
	}
	if p := c.d.StageByName(b); p != nil && p.Index < s.Index {
		return "", "", false
	}
	r, ok := imageref.Parse(b)
	if !ok {
		return "", "", false // not an image reference: BuildKit refuses it
	}
	return r.Tag, r.Digest, true
}

func checkDigest(c *checker) {
	for _, s := range c.d.Stages {
		if _, digest, ok := c.baseRef(s); ok && digest == "" {
			c.report(s.From, "base image %s is not pinned by digest", s.Base)
		}
	}
}

func checkLatest(c *checker) {
	for _, s := range c.d.Stages {
		if tag, digest, ok := c.baseRef(s); ok && tag == "latest" && digest == "" {
			c.report(s.From, "base image %s uses the latest tag", s.Base)
		}
	}
}

func checkUntagged(c *checker) {
	for _, s := range c.d.Stages {
		if tag, digest, ok := c.baseRef(s); ok && tag == "" && digest == "" {
			c.report(s.From, "base image %s has no tag: it means latest", s.Base)
		}
	}
}

// --- ADD and COPY ---------------------------------------------------------------------

// sources returns the source arguments of ADD/COPY (all but the destination), unquoted.
func sources(in *Instruction) []string {
	if len(in.Args) < 2 {
		return nil
	}
	var out []string
	for _, a := range in.Args[:len(in.Args)-1] {
		out = append(out, strings.Trim(a, `"'`))
	}
	return out
}

var archiveExt = regexp.MustCompile(`\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst)$`)

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "git@")
}

// isGit says a remote source is a git repository (ADD of a repository at a ref is how
// BuildKit fetches sources; it is not an unverified download).
func isGit(s string) bool {
	return strings.HasPrefix(s, "git@") || strings.Contains(s, ".git#") || strings.HasSuffix(s, ".git")
}

func checkAddLocal(c *checker) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "add" || len(in.Heredocs) > 0 {
			continue
		}
		for _, src := range sources(in) {
			if !isURL(src) && !archiveExt.MatchString(src) {
				c.report(in, "ADD %s: use COPY for local files", src)
				break
			}
		}
	}
}

func checkAddURL(c *checker) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "add" {
			continue
		}
		if _, ok := in.Flag("checksum"); ok {
			continue
		}
		for _, src := range sources(in) {
			if isURL(src) && !isGit(src) {
				c.report(in, "ADD fetches %s without a checksum", src)
			}
		}
	}
}

func checkAddArchive(c *checker) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "add" {
			continue
		}
		for _, src := range sources(in) {
			if !isURL(src) && archiveExt.MatchString(src) {
				c.report(in, "ADD extracts the archive %s implicitly", src)
			}
		}
	}
}

// --- secrets --------------------------------------------------------------------------

// detector finds credential-shaped values (shared with the image checks).
var detector = sync.OnceValues(secrets.New)

// keyValues splits ENV/LABEL/ARG arguments into key and value (ENV a=b c=d, ENV a b,
// ARG a=b).
func keyValues(in *Instruction) [][2]string {
	var out [][2]string
	if in.Cmd == "env" || in.Cmd == "label" {
		// BuildKit stores ENV and LABEL as key, value, separator triples.
		for i := 0; i+1 < len(in.Args); i += 3 {
			out = append(out, [2]string{in.Args[i], in.Args[i+1]})
		}
		return out
	}
	for _, a := range in.Args {
		k, v, _ := strings.Cut(a, "=")
		out = append(out, [2]string{k, strings.Trim(v, `"'`)})
	}
	return out
}

func looksSecret(name, value string) (bool, string) {
	d, err := detector()
	if err != nil {
		return false, ""
	}
	m, why, ok := d.Assess(context.Background(), name, value)
	switch {
	case ok && m.Type != "secret by name":
		why += " (" + m.Masked + ")"
	case !ok && value == "" && secrets.SecretName(name):
		// ARG NPM_TOKEN: no value here, the secret comes with the build command.
		ok, why = true, "its name says it holds a secret"
	}
	return ok, why
}

func checkSecretEnv(c *checker) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "env" {
			continue
		}
		for _, kv := range keyValues(in) {
			v := kv[1]
			if v == "" || strings.HasPrefix(v, "$") {
				continue // empty, or taken from a build arg (reported there)
			}
			if ok, why := looksSecret(kv[0], v); ok {
				c.report(in, "ENV %s: %s, and ENV values are readable by anyone who pulls the image", kv[0], why)
			}
		}
	}
}

func checkSecretArg(c *checker) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "arg" {
			continue
		}
		for _, kv := range keyValues(in) {
			if ok, why := looksSecret(kv[0], kv[1]); ok {
				c.report(in, "ARG %s: %s; build arguments are kept in the image history", kv[0], why)
			}
		}
	}
}

// --- build context --------------------------------------------------------------------

// broadCopies returns COPY/ADD instructions that copy the whole context (., ./, *).
func (c *checker) broadCopies() []*Instruction {
	var out []*Instruction
	for _, in := range c.d.Instructions {
		if in.Cmd != "copy" && in.Cmd != "add" {
			continue
		}
		if _, ok := in.Flag("from"); ok {
			continue
		}
		for _, src := range sources(in) {
			if src == "." || src == "./" || src == "*" || src == "./*" {
				out = append(out, in)
				break
			}
		}
	}
	return out
}

func checkBroadCopyNoIgnore(c *checker) {
	if c.ctx.ignoreFile != "" {
		return
	}
	for _, in := range c.broadCopies() {
		c.report(in, "%s copies the whole build context and there is no .dockerignore", strings.ToUpper(in.Cmd))
	}
}

func checkIgnoreLeaks(c *checker) {
	copies := c.broadCopies()
	if len(copies) == 0 {
		return
	}
	if c.ctx.given {
		if len(c.ctx.sensitive) > 0 {
			c.report(copies[0], "the build context holds %s, which .dockerignore does not exclude", strings.Join(limit(c.ctx.sensitive, 8), ", "))
		}
		return
	}
	if c.ctx.ignoreFile == "" {
		return // DF011 says it
	}
	if leaks := c.ctx.leaks(); len(leaks) > 0 {
		c.report(copies[0], ".dockerignore does not exclude %s", strings.Join(leaks, ", "))
	}
}

func limit(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], "...")
}

func checkCopySensitive(c *checker) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "copy" && in.Cmd != "add" {
			continue
		}
		for _, src := range sources(in) {
			if !isURL(src) && src != "." && isSensitive(strings.TrimSuffix(src, "/")) {
				c.report(in, "%s copies %s into a layer", strings.ToUpper(in.Cmd), src)
			}
		}
	}
}

// --- RUN scripts ----------------------------------------------------------------------

func checkBuildTools(c *checker) {
	final := c.d.Final()
	for _, in := range c.runs(final) {
		var tools []string
		for _, ins := range c.installsOf(in) {
			for _, p := range ins.packages {
				if buildTools[packageName(p)] {
					tools = append(tools, packageName(p))
				}
			}
		}
		if len(tools) > 0 {
			c.report(in, "the final stage installs build tools: %s", strings.Join(tools, ", "))
		}
	}
}

var scriptRunners = map[string]bool{"sh": true, "bash": true, "zsh": true, "ash": true, "dash": true, "ksh": true, "python": true, "python3": true, "perl": true, "ruby": true, "node": true}

func checkCurlPipeShell(c *checker) {
	for _, in := range c.runs() {
		for _, p := range c.script(in).Pipelines {
			fetch := ""
			for _, cmd := range p {
				if cmd.Name == "curl" || cmd.Name == "wget" {
					fetch = cmd.Name
				} else if fetch != "" && scriptRunners[cmd.Name] {
					c.report(in, "%s output is piped into %s", fetch, cmd.Name)
					break
				}
			}
		}
	}
}

// eachInstall calls fn for every install of manager m.
func (c *checker) eachInstall(m string, fn func(in *Instruction, ins install)) {
	for _, in := range c.runs() {
		for _, ins := range c.installsOf(in) {
			if ins.manager == m {
				fn(in, ins)
			}
		}
	}
}

func checkNonInteractive(m string, short byte, long ...string) func(*checker) {
	return func(c *checker) {
		c.eachInstall(m, func(in *Instruction, ins install) {
			if !ins.cmd.HasFlag(short, long...) && !ins.cmd.HasArg("-qq") {
				c.report(in, "%s install without -%c waits for confirmation", m, short)
			}
		})
	}
}

func checkFlag(m, flag, what string) func(*checker) {
	return func(c *checker) {
		c.eachInstall(m, func(in *Instruction, ins install) {
			if !ins.cmd.HasFlag(0, flag) {
				c.report(in, "%s install without %s: %s", m, flag, what)
			}
		})
	}
}

func checkPinned(m string) func(*checker) {
	return func(c *checker) {
		c.eachInstall(m, func(in *Instruction, ins install) {
			if u := ins.unpinned(); len(u) > 0 {
				c.report(in, "%s install of %s without versions", m, strings.Join(limit(u, 6), ", "))
			}
		})
	}
}

// cacheMount says the RUN mounts a cache over target (then nothing stays in the layer).
func cacheMount(in *Instruction, target string) bool {
	for _, f := range in.Flags {
		if strings.HasPrefix(f, "--mount=") && strings.Contains(f, "type=cache") && strings.Contains(f, target) {
			return true
		}
	}
	return false
}

func checkAptLists(c *checker) {
	for _, in := range c.runs() {
		s := c.script(in)
		has := false
		for _, ins := range c.installsOf(in) {
			if ins.manager == "apt-get" {
				has = true
			}
		}
		if !has || cacheMount(in, "/var/lib/apt") {
			continue
		}
		cleaned := false
		for _, cmd := range s.Commands {
			if cmd.Name == "rm" {
				for _, a := range cmd.Args {
					if strings.HasPrefix(a, "/var/lib/apt/lists") {
						cleaned = true
					}
				}
			}
		}
		if !cleaned {
			c.report(in, "apt-get install leaves /var/lib/apt/lists in the layer")
		}
	}
}

func checkUpgrade(c *checker) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if m, cmd := managerOf(cmd); m == "apt-get" {
				if sub, _, _ := subcommand(m, cmd); sub == "upgrade" || sub == "dist-upgrade" || sub == "full-upgrade" {
					c.report(in, "apt-get %s upgrades every package at build time", sub)
				}
			}
		}
	}
}

func checkAptNotAptGet(c *checker) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name == "apt" {
				c.report(in, "apt is used in a script; use apt-get")
				break
			}
		}
	}
}

func checkApkCache(c *checker) {
	for _, in := range c.runs() {
		s := c.script(in)
		for _, ins := range c.installsOf(in) {
			if ins.manager != "apk" || ins.cmd.HasFlag(0, "--no-cache") || cacheMount(in, "/var/cache/apk") {
				continue
			}
			cleaned := false
			for _, cmd := range s.Commands {
				if cmd.Name == "rm" && strings.Contains(strings.Join(cmd.Args, " "), "/var/cache/apk") {
					cleaned = true
				}
			}
			if !cleaned {
				c.report(in, "apk add without --no-cache leaves the package index in the layer")
			}
		}
	}
}

func checkApkUpgrade(c *checker) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name == "apk" {
				if sub, _, _ := subcommand("apk", cmd); sub == "upgrade" {
					c.report(in, "apk upgrade upgrades every package at build time")
				}
			}
		}
	}
}

func checkClean(m string, subs ...string) func(*checker) {
	return func(c *checker) {
		for _, in := range c.runs() {
			s := c.script(in)
			has, cleaned := false, false
			for _, cmd := range s.Commands {
				mm, cmd := managerOf(cmd)
				if mm != m {
					continue
				}
				sub, _, _ := subcommand(m, cmd)
				if slices.Contains(installSubcommands[m], sub) {
					has = true
				}
				if slices.Contains(subs, sub) {
					cleaned = true
				}
			}
			for _, cmd := range s.Commands {
				if cmd.Name == "rm" && strings.Contains(strings.Join(cmd.Args, " "), "/var/cache/"+m) {
					cleaned = true
				}
			}
			if has && !cleaned && !cacheMount(in, "/var/cache/"+m) {
				c.report(in, "%s install without %s %s leaves its cache in the layer", m, m, subs[0])
			}
		}
	}
}

func checkZypperNonInteractive(c *checker) {
	c.eachInstall("zypper", func(in *Instruction, ins install) {
		if !ins.cmd.HasFlag('n', "--non-interactive") && !ins.cmd.HasFlag('y', "--no-confirm") {
			c.report(in, "zypper install without --non-interactive waits for confirmation")
		}
	})
}

func checkZypperDup(c *checker) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name == "zypper" {
				if sub, _, _ := subcommand("zypper", cmd); sub == "dist-upgrade" || sub == "dup" {
					c.report(in, "zypper %s upgrades the distribution at build time", sub)
				}
			}
		}
	}
}

func checkPipCache(c *checker) {
	for _, in := range c.d.Instructions {
		if in.Cmd == "env" {
			for _, kv := range keyValues(in) {
				if kv[0] == "PIP_NO_CACHE_DIR" {
					return
				}
			}
		}
	}
	c.eachInstall("pip", func(in *Instruction, ins install) {
		if !ins.cmd.HasFlag(0, "--no-cache-dir") && !cacheMount(in, "/root/.cache") {
			c.report(in, "pip install without --no-cache-dir leaves its cache in the layer")
		}
	})
}

func checkSudo(c *checker) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Sudo || cmd.Name == "sudo" {
				c.report(in, "sudo %s", cmd.Name)
				break
			}
		}
	}
}

func checkCd(c *checker) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name == "cd" {
				c.report(in, "cd %s: use WORKDIR", strings.Join(cmd.Args, " "))
				break
			}
		}
	}
}

func checkPipefail(c *checker) {
	for _, s := range c.d.Stages {
		pipefail := false
		for _, in := range s.Instructions {
			if in.Cmd == "shell" {
				pipefail = strings.Contains(strings.Join(in.Args, " "), "pipefail")
				if len(in.Args) > 0 && strings.Contains(strings.ToLower(in.Args[0]), "pwsh") || strings.Contains(strings.ToLower(strings.Join(in.Args, " ")), "powershell") {
					pipefail = true // PowerShell pipelines fail on errors
				}
			}
			if in.Cmd != "run" || in.JSON || pipefail {
				continue
			}
			sc := c.script(in)
			if len(sc.Pipelines) > 0 && !sc.Pipefail {
				c.report(in, "a pipeline's failure is hidden: set -o pipefail")
			}
		}
	}
}

func checkWgetAndCurl(c *checker) {
	var wget, curl *Instruction
	for _, in := range c.runs() {
		s := c.script(in)
		if s.Has("wget") && wget == nil {
			wget = in
		}
		if s.Has("curl") && curl == nil {
			curl = in
		}
	}
	if wget != nil && curl != nil {
		later := wget
		if curl.StartLine > wget.StartLine {
			later = curl
		}
		c.report(later, "both wget (line %d) and curl (line %d) are used", wget.StartLine, curl.StartLine)
	}
}

var chmodWorld = regexp.MustCompile(`^(0?[0-7]?[0-7][0-7][2367]|[ugoa]*[+=][rwxXst]*w[rwxXst]*|o\+\w*w\w*)$`)

func checkChmod777(c *checker) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name != "chmod" {
				continue
			}
			for _, a := range cmd.Args {
				if strings.HasPrefix(a, "-") {
					continue
				}
				if chmodWorld.MatchString(a) && (strings.ContainsAny(a, "0123456789") || strings.ContainsAny(strings.Split(a, "+")[0], "oa") || strings.HasPrefix(a, "+")) {
					c.report(in, "chmod %s makes files world-writable", a)
				}
				break
			}
		}
	}
}

func checkUseradd(c *checker) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name != "useradd" || cmd.HasFlag('l', "--no-log-init") {
				continue
			}
			for i, a := range cmd.Args {
				var uid string
				switch {
				case (a == "-u" || a == "--uid") && i+1 < len(cmd.Args):
					uid = cmd.Args[i+1]
				case strings.HasPrefix(a, "--uid="):
					uid = strings.TrimPrefix(a, "--uid=")
				}
				if n, err := strconv.Atoi(uid); err == nil && n > 99999 {
					c.report(in, "useradd -u %d without -l", n)
				}
			}
		}
	}
}

// --- instructions ---------------------------------------------------------------------

var windowsPath = regexp.MustCompile(`^[A-Za-z]:[\\/]`)

func checkRelativeWorkdir(c *checker) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "workdir" || len(in.Args) == 0 {
			continue
		}
		w := strings.Trim(in.Args[0], `"'`)
		if !strings.HasPrefix(w, "/") && !strings.HasPrefix(w, "$") && !windowsPath.MatchString(w) {
			c.report(in, "WORKDIR %s is relative", w)
		}
	}
}

func checkJSONForm(c *checker) {
	for _, in := range c.d.Instructions {
		if (in.Cmd == "cmd" || in.Cmd == "entrypoint") && !in.JSON && len(in.Args) > 0 {
			c.report(in, "%s in shell form: the process will not receive SIGTERM", strings.ToUpper(in.Cmd))
		}
	}
}

func checkMultiple(cmd string) func(*checker) {
	return func(c *checker) {
		for _, s := range c.d.Stages {
			var first *Instruction
			for _, in := range s.Instructions {
				if in.Cmd != cmd {
					continue
				}
				if first == nil {
					first = in
					continue
				}
				c.report(in, "%s again (first on line %d): only the last one takes effect", strings.ToUpper(cmd), first.StartLine)
			}
		}
	}
}

func checkMaintainer(c *checker) {
	for _, in := range c.d.Instructions {
		if in.Cmd == "maintainer" {
			c.report(in, "MAINTAINER %s", strings.Join(in.Args, " "))
		}
	}
}

// copyFrom returns the --from of a COPY, if any.
func copyFrom(in *Instruction) (string, bool) {
	if in.Cmd != "copy" {
		return "", false
	}
	return in.Flag("from")
}

func checkCopyFromUnknown(c *checker) {
	for _, s := range c.d.Stages {
		for _, in := range s.Instructions {
			from, ok := copyFrom(in)
			if !ok || strings.Contains(from, "$") {
				continue
			}
			if strings.ContainsAny(from, ":/@.") {
				continue // an image reference
			}
			target := c.d.StageByName(from)
			if target == nil || target.Index > s.Index {
				c.report(in, "COPY --from=%s: no stage of that name is defined before this one", from)
			}
		}
	}
}

func checkCopyFromSelf(c *checker) {
	for _, s := range c.d.Stages {
		for _, in := range s.Instructions {
			from, ok := copyFrom(in)
			if !ok {
				continue
			}
			if t := c.d.StageByName(from); t != nil && t.Index == s.Index {
				c.report(in, "COPY --from=%s names the stage it is in", from)
			}
		}
	}
}

func checkDuplicateStages(c *checker) {
	seen := map[string]*Stage{}
	for _, s := range c.d.Stages {
		if s.Name == "" {
			continue
		}
		if first, ok := seen[s.Name]; ok {
			c.report(s.From, "stage name %q is already used on line %d", s.Name, first.From.StartLine)
			continue
		}
		seen[s.Name] = s
	}
}

// ports parses EXPOSE arguments: 80, 80/tcp, 8000-8010/udp.
func ports(in *Instruction) (nums []int, bad []string) {
	for _, a := range in.Args {
		if strings.Contains(a, "$") {
			continue
		}
		p, _, _ := strings.Cut(a, "/")
		for _, part := range strings.Split(p, "-") {
			n, err := strconv.Atoi(part)
			if err != nil || n < 0 || n > 65535 {
				bad = append(bad, a)
				break
			}
			nums = append(nums, n)
		}
	}
	return nums, bad
}

func checkExposeRange(c *checker) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "expose" {
			continue
		}
		if _, bad := ports(in); len(bad) > 0 {
			c.report(in, "EXPOSE %s: not a port in 0-65535", strings.Join(bad, " "))
		}
	}
}

func checkSensitivePorts(c *checker) {
	names := map[int]string{22: "SSH", 23: "Telnet", 3389: "RDP"}
	for _, in := range c.d.Final().Instructions {
		if in.Cmd != "expose" {
			continue
		}
		nums, _ := ports(in)
		for _, n := range nums {
			if name, ok := names[n]; ok {
				c.report(in, "EXPOSE %d (%s)", n, name)
			}
		}
	}
}

func checkNoHealthcheck(c *checker) {
	final := c.d.Final()
	if rootBase(c.d, final) == "scratch" {
		return // nothing in the image could run a check
	}
	for _, in := range final.Instructions {
		if in.Cmd == "healthcheck" {
			return
		}
	}
	c.report(final.From, "the final stage (FROM %s) has no HEALTHCHECK", final.BaseRaw)
}

var labelKey = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)

func checkLabelKeys(c *checker) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "label" {
			continue
		}
		for _, kv := range keyValues(in) {
			k := strings.Trim(kv[0], `"'`)
			switch {
			case strings.HasPrefix(k, "com.docker.") || strings.HasPrefix(k, "io.docker.") || strings.HasPrefix(k, "org.dockerproject."):
				c.report(in, "label %q uses a reserved namespace", k)
			case !labelKey.MatchString(k) || strings.Contains(k, "..") || strings.Contains(k, "--"):
				c.report(in, "label key %q is not a lower-case dotted name", k)
			}
		}
	}
}

func checkInvalid(c *checker) {
	for _, in := range c.d.Instructions {
		if in.ParseError != nil {
			c.report(in, "%s", strings.Join(strings.Fields(in.ParseError.Error()), " "))
		}
	}
}

func checkParserWarnings(c *checker) {
	for _, w := range c.d.Warnings {
		if w.Location == nil {
			continue
		}
		line := w.Location.Start.Line
		for _, in := range c.d.Instructions {
			if line >= in.StartLine && line <= in.EndLine+1 {
				c.report(in, "%s", w.Short)
				break
			}
		}
	}
}
