package dockerfile

import (
	"regexp"
	"slices"
	"strings"
)

// install is one package-manager install found in a RUN script.
type install struct {
	manager  string // apt-get, apk, yum, dnf, zypper, pip, npm, gem, go
	cmd      Command
	packages []string
}

// valueFlags are the flags that take the next word as their value, per manager.
var valueFlags = map[string][]string{
	"apt-get": {"-o", "-t", "--target-release", "-c", "--config-file"},
	"apk":     {"-t", "--virtual", "-X", "--repository", "-p", "--root", "--arch"},
	"yum":     {"--enablerepo", "--disablerepo", "--setopt", "-c", "--config", "--installroot", "--releasever"},
	"dnf":     {"--enablerepo", "--disablerepo", "--setopt", "-c", "--config", "--installroot", "--releasever"},
	"zypper":  {"-r", "--repo", "--from", "-t", "--type"},
	"pip":     {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url", "-t", "--target", "--trusted-host", "-f", "--find-links", "--prefix", "--root", "--platform", "--python-version"},
	"npm":     {"--prefix", "--registry", "-w", "--workspace"},
	"gem":     {"-v", "--version", "-i", "--install-dir", "--source", "-s"},
	"go":      {"-o", "-ldflags", "-tags", "-gcflags", "-mod", "-C"},
}

var installSubcommands = map[string][]string{
	"apt-get": {"install"},
	"apk":     {"add"},
	"yum":     {"install"},
	"dnf":     {"install"},
	"zypper":  {"install", "in"},
	"pip":     {"install"},
	"npm":     {"install", "i", "add"},
	"gem":     {"install"},
	"go":      {"install"},
}

// managerOf maps command names to the manager they are: apt -> apt-get, pip3 -> pip,
// microdnf -> dnf, python -m pip -> pip.
func managerOf(c Command) (string, Command) {
	switch c.Name {
	case "apt-get", "apt":
		return "apt-get", c
	case "apk", "yum", "dnf", "zypper", "npm", "gem", "go":
		return c.Name, c
	case "microdnf":
		return "dnf", c
	case "pip", "pip3":
		return "pip", c
	}
	if strings.HasPrefix(c.Name, "python") && len(c.Args) >= 2 && c.Args[0] == "-m" && (c.Args[1] == "pip" || c.Args[1] == "pip3") {
		return "pip", Command{Name: "pip", Args: c.Args[2:], Sudo: c.Sudo}
	}
	if strings.HasPrefix(c.Name, "pip3.") || strings.HasPrefix(c.Name, "pip2") {
		return "pip", c
	}
	return "", c
}

// installs finds the package installs of a script.
func installs(s *Script) []install {
	var out []install
	for _, c := range s.Commands {
		m, c := managerOf(c)
		if m == "" {
			continue
		}
		sub, rest, ok := subcommand(m, c)
		if !ok || !slices.Contains(installSubcommands[m], sub) {
			continue
		}
		out = append(out, install{manager: m, cmd: c, packages: positional(m, rest)})
	}
	return out
}

// subcommand finds the manager's subcommand, skipping global flags and their values.
func subcommand(m string, c Command) (string, []string, bool) {
	args := c.Args
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if slices.Contains(valueFlags[m], a) {
				i++
			}
			continue
		}
		return a, args[i+1:], true
	}
	return "", nil, false
}

// positional returns the non-flag arguments (the packages).
func positional(m string, args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "&&" || a == ";" {
			break
		}
		if strings.HasPrefix(a, "-") {
			if slices.Contains(valueFlags[m], a) {
				i++
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

var (
	rpmVersioned = regexp.MustCompile(`-\d`)
	looksLocal   = regexp.MustCompile(`^(\.|/|\$|~)|\.(deb|rpm|apk|whl|tar\.gz|zip|gem)$|://`)
)

// unpinned lists the packages of an install that name no version.
func (in install) unpinned() []string {
	var out []string
	for _, p := range in.packages {
		if looksLocal.MatchString(p) || strings.Contains(p, "$") {
			continue
		}
		pinned := false
		switch in.manager {
		case "apt-get":
			pinned = strings.Contains(p, "=")
		case "apk":
			pinned = strings.ContainsAny(p, "=~<>")
		case "yum", "dnf":
			pinned = rpmVersioned.MatchString(p) || strings.ContainsAny(p, "=<>")
		case "zypper":
			pinned = strings.ContainsAny(p, "=<>")
		case "pip":
			pinned = strings.ContainsAny(p, "=<>~@") || strings.HasSuffix(p, ".txt")
		case "npm":
			name := strings.TrimPrefix(p, "@") // @scope/name@1.2.3
			pinned = strings.Contains(name, "@") || strings.Contains(p, "#")
		case "gem":
			pinned = strings.Contains(p, ":") || in.cmd.HasFlag('v', "--version")
		case "go":
			mod, v, ok := strings.Cut(p, "@")
			if !strings.Contains(strings.Split(mod, "/")[0], ".") {
				continue // std, cmd, ./...: not modules
			}
			pinned = ok && v != "latest" && v != "master" && v != "main"
		}
		if !pinned {
			out = append(out, p)
		}
	}
	return out
}

// buildTools are packages that compile software: they belong in a build stage.
var buildTools = map[string]bool{
	"gcc": true, "g++": true, "make": true, "build-essential": true, "build-base": true, "clang": true,
	"cmake": true, "autoconf": true, "automake": true, "libtool": true, "golang": true, "golang-go": true,
	"go": true, "maven": true, "gradle": true, "cargo": true, "rustc": true, "musl-dev": true,
	"linux-headers": true, "gcc-c++": true, "openjdk-17-jdk": true, "openjdk-11-jdk": true, "default-jdk": true,
}

// packageName strips a version pin: curl=7.1 -> curl.
func packageName(p string) string {
	for i, r := range p {
		if strings.ContainsRune("=<>~", r) {
			return p[:i]
		}
	}
	return p
}
