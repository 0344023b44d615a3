package dockerfile

import (
	"strconv"
	"strings"

	"github.com/imagegate/imagegate/report"
)

// userRules are the rules about the user the container runs as.
var userRules = []Rule{
	{Rule: report.Rule{
		ID: "DF001", Severity: report.High, Title: "The image runs as root: the final stage sets no USER", Dockle: "CIS-DI-0001",
		Rationale: "A container that runs as root turns any code execution bug into root on the container, and one kernel or runtime flaw away from root on the host.",
		Fix:       "Create an unprivileged user and switch to it in the final stage: `RUN useradd -r -u 10001 app` then `USER 10001`.",
	}, Check: checkNoUser},
	{Rule: report.Rule{
		ID: "DF002", Severity: report.High, Title: "The last USER is root", Hadolint: "DL3002", Dockle: "CIS-DI-0001",
		Rationale: "Switching back to root at the end means the container runs as root.",
		Fix:       "Make the last USER of the final stage an unprivileged user (a name or a UID other than 0).",
	}, Check: checkRootUser},
	{Rule: report.Rule{
		ID: "DF052", Severity: report.Low, Title: "useradd with a high UID without -l", Hadolint: "DL3046",
		Rationale: "useradd writes lastlog/faillog entries sized by the UID: a high UID without -l makes a sparse file of gigabytes.",
		Fix:       "Add -l (--no-log-init) to useradd.",
	}, Check: checkUseradd},
	{Rule: report.Rule{
		ID: "DF061", Severity: report.Low, Title: "USER names a user instead of a numeric ID", Hadolint: "DL3066",
		Rationale: "Kubernetes' runAsNonRoot can only verify a numeric user: with a name it refuses to start the pod, or the check is skipped; a name may also not resolve outside the image.",
		Fix:       "Use the numeric ID: `USER 10001` (or `USER 10001:10001`), created with `useradd -u 10001`.",
	}, Check: checkUserName},
}

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

func checkNoUser(c *checker) (hits []Hit) {
	final := c.d.Final()
	if user, _ := userOf(c.d, final, 0); user != "" {
		return
	}
	base := strings.ToLower(rootBase(c.d, final))
	if base == "scratch" || strings.Contains(base, "nonroot") || strings.Contains(base, "rootless") {
		return // scratch has no users; *nonroot bases already run unprivileged
	}
	hits = append(hits, hit(final.From, "the final stage (FROM %s) never sets USER, so the container runs as the base image's user, usually root", final.BaseRaw))
	return hits
}

func checkRootUser(c *checker) (hits []Hit) {
	final := c.d.Final()
	if user, in := userOf(c.d, final, 0); in != nil && isRoot(user) {
		hits = append(hits, hit(in, "the final stage runs as %q", user))
	}
	return hits
}

func checkUseradd(c *checker) (hits []Hit) {
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
					hits = append(hits, hit(in, "useradd -u %d without -l", n))
				}
			}
		}
	}
	return hits
}

// checkUserName reports a final stage whose last USER is a name (not root: DF002).
func checkUserName(c *checker) (hits []Hit) {
	user, in := userOf(c.d, c.d.Final(), 0)
	if in == nil || isRoot(user) || strings.Contains(user, "$") {
		return nil
	}
	u, _, _ := strings.Cut(user, ":")
	if _, err := strconv.Atoi(u); err != nil {
		hits = append(hits, hit(in, "USER %s is a name: runAsNonRoot cannot verify it", user))
	}
	return hits
}
