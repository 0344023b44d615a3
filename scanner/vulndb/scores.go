package vulndb

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ossf/osv-schema/bindings/go/osvschema"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// Score is a CVSS vector found under an identifier (or, with Type Rating, another
// vendor's qualitative rating: "Important", "Moderate"): the record that carries it, and
// the identifier it was found under (Via).
type Score struct {
	Type   osvschema.Severity_Type
	Vector string
	Source string
	Via    string
	// Own says the rating is the finding's own distribution's (another of its advisories).
	Own bool
}

// score is one entry of <Ecosystem>.scores: a CVSS vector, its type and its record.
type score struct {
	typ    osvschema.Severity_Type
	vector string
	source string
}

// Rating is the Score type of a vendor's qualitative rating (an advisory of another
// distribution that rates the CVE: AlmaLinux's "Moderate: openssl security update"): used
// only when no record carries a CVSS vector for any of the identifiers.
const Rating osvschema.Severity_Type = -1

// preference orders vector types: v3, then v4, then v2, then a vendor's rating (lower is
// preferred).
func preference(t osvschema.Severity_Type) int {
	switch t {
	case osvschema.Severity_CVSS_V3:
		return 0
	case osvschema.Severity_CVSS_V4:
		return 1
	case Rating:
		return 3
	}
	return 2
}

// better prefers the vector type, then the smaller record id: the same data always gives
// the same answer.
func (s score) better(than score) bool {
	if a, b := preference(s.typ), preference(than.typ); a != b {
		return a < b
	}
	return s.source < than.source
}

// recordScore is v's preferred CVSS vector: the record's own, else its affected entries'.
func recordScore(v *osvschema.Vulnerability) (score, bool) {
	best, ok := score{}, false
	consider := func(list []*osvschema.Severity) {
		for _, s := range list {
			switch s.GetType() {
			case osvschema.Severity_CVSS_V2, osvschema.Severity_CVSS_V3, osvschema.Severity_CVSS_V4:
				c := score{typ: s.GetType(), vector: s.GetScore(), source: v.GetId()}
				if !ok || c.better(best) {
					best, ok = c, true
				}
			}
		}
	}
	consider(v.GetSeverity())
	if !ok {
		for _, a := range v.GetAffected() {
			consider(a.GetSeverity())
		}
	}
	return best, ok
}

// addScoreTo records v's vector under each of its identifiers (id, aliases, upstream);
// a record without one, its vendor rating, under those and the vulnerabilities it names
// as related (a distribution's advisory names the CVEs it fixes there).
func addScoreTo(m map[string]score, v *osvschema.Vulnerability) {
	ids := append(append([]string{v.GetId()}, v.GetAliases()...), v.GetUpstream()...)
	best, ok := recordScore(v)
	if !ok {
		rating := recordRating(v)
		if rating == "" {
			return
		}
		best = score{typ: Rating, vector: rating, source: v.GetId()}
		ids = append(ids, v.GetRelated()...)
	}
	for _, id := range ids {
		if cur, seen := m[id]; !seen || best.better(cur) {
			m[id] = best
		}
	}
}

// recordRating is the record's own qualitative rating: database_specific severity,
// priority or urgency, or a Red Hat style summary ("Important: kernel security update").
func recordRating(v *osvschema.Vulnerability) string {
	if r := ratings(v.GetDatabaseSpecific()); len(r) > 0 && knownRating(r[0]) {
		return r[0]
	}
	if r, _, ok := strings.Cut(v.GetSummary(), ": "); ok && knownRating(r) {
		return r
	}
	return ""
}

// knownRating says whether s is a rating imagegate maps to a severity (the words
// scanner/match reads: critical, important, high, moderate, medium, low, negligible,
// unimportant).
func knownRating(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "important", "high", "moderate", "medium", "low", "negligible", "unimportant":
		return true
	}
	return false
}

func (b *builder) addScore(v *osvschema.Vulnerability) { addScoreTo(b.scores, v) }

// writeScores writes <eco>.scores into dir and returns its digest: one line per
// identifier, sorted, "id TAB type TAB vector TAB record" (tabs cannot occur in any of
// them), so that a scan looks identifiers up by binary search without decoding the file.
func writeScores(dir, eco string, m map[string]score) (string, error) {
	var b bytes.Buffer
	for _, id := range sortedKeys(m) {
		sc := m[id]
		if strings.ContainsAny(id+sc.vector+sc.source, "\t\n") {
			continue
		}
		fmt.Fprintf(&b, "%s\t%d\t%s\t%s\n", id, int32(sc.typ), sc.vector, sc.source)
	}
	p := filepath.Join(dir, eco+".scores")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return "", failure.Incompletef("writing the %s scores: %w", eco, unwrapPath(err))
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", failure.Incompletef("writing the %s scores: %w", eco, unwrapPath(err))
	}
	return fileSHA256(bytes.NewReader(b.Bytes()))
}

// scoreFile is one ecosystem's scores, searched in place.
type scoreFile struct {
	eco   string
	data  []byte
	lines []int // start of each line
}

// readScores reads <eco>.scores, checked against want (its digest) when given.
func readScores(dir, eco, want string) (*scoreFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, eco+".scores"))
	if err != nil {
		return nil, unwrapPath(err)
	}
	if want != "" {
		if got, _ := fileSHA256(bytes.NewReader(b)); got != want {
			return nil, fmt.Errorf("%s scores: its digest is sha256:%s, written as sha256:%s", eco, got, want)
		}
	}
	f := &scoreFile{eco: eco, data: b}
	for off := 0; off < len(b); {
		f.lines = append(f.lines, off)
		n := bytes.IndexByte(b[off:], '\n')
		if n < 0 {
			return nil, fmt.Errorf("%s scores: the last line is cut", eco)
		}
		off += n + 1
	}
	return f, nil
}

func (f *scoreFile) line(i int) []byte {
	end := len(f.data)
	if i+1 < len(f.lines) {
		end = f.lines[i+1]
	}
	return f.data[f.lines[i] : end-1]
}

// lookup finds id's score.
func (f *scoreFile) lookup(id string) (score, bool) {
	key := []byte(id + "\t")
	i := sort.Search(len(f.lines), func(i int) bool { return bytes.Compare(f.line(i), key) >= 0 })
	if i == len(f.lines) || !bytes.HasPrefix(f.line(i), key) {
		return score{}, false
	}
	parts := strings.SplitN(string(f.line(i)), "\t", 4)
	if len(parts) != 4 {
		return score{}, false
	}
	t, err := strconv.Atoi(parts[1])
	if err != nil {
		return score{}, false
	}
	return score{typ: osvschema.Severity_Type(t), vector: parts[2], source: parts[3]}, true
}

// Score finds a CVSS vector (or a rating) for a vulnerability known by ids among every ecosystem of the
// store (an Alpine or Debian advisory carries none; a RustSec or GitHub record for the
// same CVE often does). A zip not indexed yet lends its vectors through a light pass that
// decodes only its records with a CVSS vector, cached beside its index: the answer never
// depends on which other images were scanned before.
//
// The order: own, the finding's own distribution (its base ecosystem), rating the
// vulnerability under another of its advisories; then a CVSS vector from any record; then
// another vendor's rating.
func (s *Store) Score(own string, ids []string) (Score, bool, error) {
	if err := s.loadScores(); err != nil {
		return Score{}, false, err
	}
	for _, f := range s.scores {
		if f.eco != own {
			continue
		}
		for _, id := range ids {
			if sc, ok := f.lookup(id); ok && sc.typ == Rating {
				return Score{Type: sc.typ, Vector: sc.vector, Source: sc.source, Via: id, Own: true}, true, nil
			}
		}
	}
	var best score
	var via string
	found := false
	for _, f := range s.scores {
		for _, id := range ids {
			if sc, ok := f.lookup(id); ok && (!found || sc.better(best)) {
				best, via, found = sc, id, true
			}
		}
	}
	if !found {
		return Score{}, false, nil
	}
	return Score{Type: best.typ, Vector: best.vector, Source: best.source, Via: via}, true, nil
}

func (s *Store) loadScores() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scores != nil {
		return nil
	}
	files := []*scoreFile{}
	for _, base := range sortedKeys(s.infos) {
		dir := s.dir
		if d, ok := s.dirs[base]; ok {
			dir = d
		}
		f, err := readScores(dir, base, s.infos[base].ScoresSHA256)
		if err != nil {
			return failure.Incompletef("vulnerability database %s is corrupt (%w): run 'imagegate db update' (or 'db import') to rebuild it", dir, err)
		}
		files = append(files, f)
	}
	ratings := readRatingInfos(s.dir)
	for _, base := range sortedKeys(ratings) {
		f, err := readScores(s.dir, base+ratingsSuffix, ratings[base].ScoresSHA256)
		if err != nil {
			return failure.Incompletef("vulnerability database %s: the %s ratings are corrupt (%w): import them again ('imagegate db import --ratings-only')", s.dir, base, err)
		}
		f.eco = base
		files = append(files, f)
	}
	for _, base := range sortedKeys(s.lazy) {
		f, err := zipScores(s.lazy[base], base)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	s.scores = files
	return nil
}

// zipScores are the CVSS vectors of an export zip not indexed yet, from its cache folder
// or, the first time, from a pass over the zip that decodes only records that carry one.
func zipScores(z, eco string) (*scoreFile, error) {
	dir, err := zipIndexDir([]string{z})
	if err != nil {
		return nil, err
	}
	f, _, err := userfile.Open(z, "OSV export")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sum, err := fileSHA256(f)
	if err != nil {
		return nil, failure.Inputf("import %s: %w", z, err)
	}
	// Indexed whole already (by an earlier scan that needed it)?
	if infos, err := readInfos(dir); err == nil {
		if info, ok := infos[eco]; ok && info.SHA256 == sum {
			if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
				if m, err := readScores(dir, eco, info.ScoresSHA256); err == nil {
					return m, nil
				}
			}
		}
	}
	src := sum + " " + strconv.Itoa(FormatVersion) // the zip and the layout of its scores
	if b, err := os.ReadFile(filepath.Join(dir, eco+".scores.src")); err == nil && string(b) == src {
		if m, err := readScores(dir, eco, ""); err == nil {
			return m, nil
		}
	}
	st, err := f.Stat()
	if err != nil {
		return nil, failure.Inputf("import %s: %w", z, err)
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return nil, failure.Inputf("import %s: not a valid zip: %w", z, err)
	}
	m := map[string]score{}
	names := make([]*zip.File, 0, len(zr.File))
	for _, zf := range zr.File {
		if !zf.FileInfo().IsDir() {
			names = append(names, zf)
		}
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Name < names[j].Name })
	var total int64
	for _, zf := range names {
		raw, err := readZipMember(zf)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", z, err)
		}
		if total += int64(len(raw)); total > MaxExportBytes {
			return nil, failure.Inputf("import %s: more than %d bytes of records", z, MaxExportBytes)
		}
		if !bytes.Contains(raw, []byte(`"CVSS_V`)) && !bytes.Contains(raw, []byte(`"related"`)) && !bytes.Contains(raw, []byte(`"severity"`)) {
			continue
		}
		if v, err := decode(raw); err == nil {
			addScoreTo(m, v)
		}
	}
	if _, err := writeScores(dir, eco, m); err != nil {
		return nil, err
	}
	_ = os.WriteFile(filepath.Join(dir, eco+".scores.src"), []byte(src), 0o644)
	return readScores(dir, eco, "")
}
