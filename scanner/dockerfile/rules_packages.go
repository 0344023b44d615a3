package dockerfile

import (
	"strings"
)

// What the package manager rules (apt, apk, rpm, language) share.

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

func checkNonInteractive(m string, short byte, long ...string) func(*checker) []Hit {
	return func(c *checker) (hits []Hit) {
		c.eachInstall(m, func(in *Instruction, ins install) {
			if !ins.cmd.HasFlag(short, long...) && !ins.cmd.HasArg("-qq") {
				hits = append(hits, hit(in, "%s install without -%c waits for confirmation", m, short))
			}
		})
		return hits
	}
}

func checkPinned(m string) func(*checker) []Hit {
	return func(c *checker) (hits []Hit) {
		c.eachInstall(m, func(in *Instruction, ins install) {
			if u := ins.unpinned(); len(u) > 0 {
				hits = append(hits, hit(in, "%s install of %s without versions", m, strings.Join(limit(u, 6), ", ")))
			}
		})
		return hits
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
