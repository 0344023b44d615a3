package vulndb

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/ossf/osv-schema/bindings/go/osvschema"

	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// Score is a CVSS vector found under an identifier: the record that carries it, and the
// identifier it was found under (Via).
type Score struct {
	Type   osvschema.Severity_Type
	Vector string
	Source string
	Via    string
}

// score is one entry of <Ecosystem>.scores.json: [type, vector, record].
type score struct {
	typ    osvschema.Severity_Type
	vector string
	source string
}

func (s score) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{int32(s.typ), s.vector, s.source})
}

func (s *score) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) != 3 {
		return errors.New("malformed score entry")
	}
	var t int32
	if err := json.Unmarshal(raw[0], &t); err != nil {
		return err
	}
	s.typ = osvschema.Severity_Type(t)
	if err := json.Unmarshal(raw[1], &s.vector); err != nil {
		return err
	}
	return json.Unmarshal(raw[2], &s.source)
}

// preference orders vector types: v3, then v4, then v2 (lower is preferred).
func preference(t osvschema.Severity_Type) int {
	switch t {
	case osvschema.Severity_CVSS_V3:
		return 0
	case osvschema.Severity_CVSS_V4:
		return 1
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

// addScoreTo records v's vector under each of its identifiers (id, aliases, upstream).
func addScoreTo(m map[string]score, v *osvschema.Vulnerability) {
	best, ok := recordScore(v)
	if !ok {
		return
	}
	for _, id := range append(append([]string{v.GetId()}, v.GetAliases()...), v.GetUpstream()...) {
		if cur, seen := m[id]; !seen || best.better(cur) {
			m[id] = best
		}
	}
}

func (b *builder) addScore(v *osvschema.Vulnerability) { addScoreTo(b.scores, v) }

// writeScores writes <eco>.scores.json into dir and returns its digest.
func writeScores(dir, eco string, m map[string]score) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", failure.Incomplete(err)
	}
	p := filepath.Join(dir, eco+".scores.json")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return "", failure.Incompletef("writing the %s scores: %w", eco, unwrapPath(err))
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", failure.Incompletef("writing the %s scores: %w", eco, unwrapPath(err))
	}
	return fileSHA256(bytes.NewReader(b))
}

// readScores reads <eco>.scores.json, checked against want (its digest) when given.
func readScores(dir, eco, want string) (map[string]score, error) {
	b, err := os.ReadFile(filepath.Join(dir, eco+".scores.json"))
	if err != nil {
		return nil, unwrapPath(err)
	}
	if want != "" {
		if got, _ := fileSHA256(bytes.NewReader(b)); got != want {
			return nil, fmt.Errorf("%s.scores.json: its digest is sha256:%s, written as sha256:%s", eco, got, want)
		}
	}
	var m map[string]score
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s.scores.json: %w", eco, err)
	}
	return m, nil
}

// Score finds a CVSS vector for a vulnerability known by ids among every ecosystem of the
// store (an Alpine or Debian advisory carries none; a RustSec or GitHub record for the
// same CVE often does). A zip not indexed yet lends its vectors through a light pass that
// decodes only its records with a CVSS vector, cached beside its index: the answer never
// depends on which other images were scanned before.
func (s *Store) Score(ids []string) (Score, bool, error) {
	if err := s.loadScores(); err != nil {
		return Score{}, false, err
	}
	var best score
	var via string
	found := false
	for _, id := range ids {
		if sc, ok := s.scores[id]; ok && (!found || sc.better(best)) {
			best, via, found = sc, id, true
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
	all := map[string]score{}
	merge := func(m map[string]score) {
		for id, sc := range m {
			if cur, ok := all[id]; !ok || sc.better(cur) {
				all[id] = sc
			}
		}
	}
	for _, base := range sortedKeys(s.infos) {
		dir := s.dir
		if d, ok := s.dirs[base]; ok {
			dir = d
		}
		m, err := readScores(dir, base, s.infos[base].ScoresSHA256)
		if err != nil {
			return failure.Incompletef("vulnerability database %s is corrupt (%w): run 'imagegate db update' (or 'db import') to rebuild it", dir, err)
		}
		merge(m)
	}
	for _, base := range sortedKeys(s.lazy) {
		m, err := zipScores(s.lazy[base], base)
		if err != nil {
			return err
		}
		merge(m)
	}
	s.scores = all
	return nil
}

// zipScores are the CVSS vectors of an export zip not indexed yet, from its cache folder
// or, the first time, from a pass over the zip that decodes only records that carry one.
func zipScores(z, eco string) (map[string]score, error) {
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
	if b, err := os.ReadFile(filepath.Join(dir, eco+".scores.src")); err == nil && string(b) == sum {
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
		if !bytes.Contains(raw, []byte(`"CVSS_V`)) {
			continue
		}
		if v, err := decode(raw); err == nil {
			addScoreTo(m, v)
		}
	}
	if _, err := writeScores(dir, eco, m); err == nil {
		_ = os.WriteFile(filepath.Join(dir, eco+".scores.src"), []byte(sum), 0o644)
	}
	return m, nil
}
