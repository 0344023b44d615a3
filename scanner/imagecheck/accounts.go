package imagecheck

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/image"
)

// accountChecks read /etc/shadow, /etc/passwd and /etc/group.
var accountChecks = []*Check{
	{Rule: report.Rule{
		ID: "IC011", Severity: report.High, Title: "Account with an empty password", Dockle: "DKL-LI-0001",
		Rationale: "An account without a password in /etc/shadow can be logged into without one.",
		Fix:       "Lock the account: `passwd -l user` or `usermod -p '*' user`.",
	}, Run: emptyPassword},
	{Rule: report.Rule{
		ID: "IC012", Severity: report.Medium, Title: "Duplicate user or group IDs", Dockle: "DKL-LI-0002",
		Rationale: "Two accounts with one ID share each other's files and permissions.",
		Fix:       "Give every user and group its own ID.",
	}, Run: duplicateIDs},
}

// accounts reads a colon-separated account file of the final filesystem. A file it
// cannot read to its end (a line past 1 MiB, a read error) is named in in.incomplete:
// the accounts after the stop were not checked.
func accounts(in *input, p string) (*image.File, [][]string) {
	f, ok := in.idx.Stat(p)
	if !ok || !f.Retained {
		return nil, nil
	}
	var rows [][]string
	sc := bufio.NewScanner(f.Content().Reader())
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rows = append(rows, strings.Split(line, ":"))
	}
	if err := sc.Err(); err != nil {
		in.incomplete = append(in.incomplete, fmt.Sprintf("/%s not read past line %d (%v): the accounts after it were not checked", p, lines+1, err))
	}
	return f, rows
}

// emptyPassword reports each account of /etc/shadow without a password.
func emptyPassword(in *input) (hits []Hit) {
	f, rows := accounts(in, "etc/shadow")
	for _, r := range rows {
		if len(r) > 1 && r[1] == "" {
			hits = append(hits, Hit{Message: "account " + r[0] + " has no password in /etc/shadow", Target: "etc/shadow", Layer: f.Layer})
		}
	}
	return hits
}

func duplicateIDs(in *input) (hits []Hit) {
	for _, spec := range []struct{ path, what string }{{"etc/passwd", "UID"}, {"etc/group", "GID"}} {
		f, rows := accounts(in, spec.path)
		byID := map[string][]string{}
		var order []string
		for _, r := range rows {
			if len(r) > 2 {
				if _, ok := byID[r[2]]; !ok {
					order = append(order, r[2])
				}
				byID[r[2]] = append(byID[r[2]], r[0])
			}
		}
		for _, id := range order {
			if names := byID[id]; len(names) > 1 {
				hits = append(hits, Hit{Message: fmt.Sprintf("%s %s is shared by %s in /%s", spec.what, id, strings.Join(names, ", "), spec.path), Target: spec.path, Layer: f.Layer})
			}
		}
	}
	return hits
}
