package match

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/osv-scalibr/semantic"
	"github.com/ossf/osv-schema/bindings/go/osvschema"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/imagegate/imagegate/scanner/ecosystem"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// specAffected is the OSV schema's own evaluation of a range ("Evaluation" in the
// specification: sort the events, then walk all of them), over the record's events as
// they come, without the index's presorting or the early stop.
func specAffected(t *testing.T, r *osvschema.Range, v semantic.Version, eco string) (bool, bool) {
	semver := r.GetType() == osvschema.Range_SEMVER
	type ev struct {
		kind string
		v    semantic.Version
	}
	var events []ev
	for _, e := range r.GetEvents() {
		kind, raw := "", ""
		switch {
		case e.GetIntroduced() != "":
			kind, raw = "introduced", e.GetIntroduced()
		case e.GetFixed() != "":
			kind, raw = "fixed", e.GetFixed()
		case e.GetLastAffected() != "":
			kind, raw = "last_affected", e.GetLastAffected()
		case e.GetLimit() != "":
			kind, raw = "limit", e.GetLimit()
		}
		if kind == "" || (kind == "limit" && raw == "*") {
			continue
		}
		if kind == "introduced" && raw == "0" {
			events = append(events, ev{kind, nil})
			continue
		}
		pv, err := vulndb.ParseVersion(raw, eco, semver)
		if err != nil {
			return false, false
		}
		events = append(events, ev{kind, pv})
	}
	cmp := func(a, b semantic.Version) int {
		c, err := a.Compare(b)
		require.NoError(t, err)
		return c
	}
	slices.SortStableFunc(events, func(a, b ev) int {
		switch {
		case a.v == nil && b.v == nil:
			return 0
		case a.v == nil:
			return -1
		case b.v == nil:
			return 1
		}
		return cmp(a.v, b.v)
	})
	for _, e := range events {
		if e.kind == "limit" && cmp(v, e.v) >= 0 {
			return false, true
		}
	}
	affected := false
	for _, e := range events {
		switch {
		case e.kind == "introduced" && (e.v == nil || cmp(v, e.v) >= 0):
			affected = true
		case e.kind == "fixed" && cmp(v, e.v) >= 0:
			affected = false
		case e.kind == "last_affected" && cmp(v, e.v) > 0:
			affected = false
		}
	}
	return affected, true
}

// Every range of the real records in testdata (the per-ecosystem records and the demo
// database's exports), evaluated at each of its own versions and at versions just below
// and above them, gives the same answer from the index's sorted events as from the
// specification's evaluation of the record as published.
func TestSortedRangesAgreeWithTheSpec(t *testing.T) {
	var records []*osvschema.Vulnerability
	add := func(data []byte) {
		v := &osvschema.Vulnerability{}
		if (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, v) == nil {
			records = append(records, v)
		}
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "osv-records", "*", "*.json"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		add(data)
	}
	zips, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "osv", "*", "all.zip"))
	for _, z := range zips {
		zr, err := zip.OpenReader(z)
		require.NoError(t, err)
		for i, f := range zr.File {
			if i%7 != 0 {
				continue
			}
			rc, err := f.Open()
			require.NoError(t, err)
			data, err := io.ReadAll(rc)
			rc.Close()
			require.NoError(t, err)
			add(data)
		}
		zr.Close()
	}
	require.Greater(t, len(records), 500)
	compared, sorted := 0, 0
	for _, rec := range records {
		for _, a := range rec.GetAffected() {
			eco := ecosystem.Base(a.GetPackage().GetEcosystem())
			compact := vulndb.CompactAffected(a, eco)
			n := 0
			for _, r := range a.GetRanges() {
				if r.GetType() != osvschema.Range_ECOSYSTEM && r.GetType() != osvschema.Range_SEMVER {
					continue
				}
				cr := &compact.Ranges[n]
				n++
				if cr.Sorted {
					sorted++
				}
				var probes []string
				for _, e := range r.GetEvents() {
					for _, v := range []string{e.GetIntroduced(), e.GetFixed(), e.GetLastAffected(), e.GetLimit()} {
						if v != "" && v != "*" {
							probes = append(probes, v, v+".1", v+"~", v+"-0", "0:"+v)
						}
					}
				}
				probes = append(probes, "0", "0.0.1", "999999")
				for _, p := range probes {
					iv, err := vulndb.ParseVersion(p, eco, cr.Semver)
					if err != nil {
						continue
					}
					want, wantOK := specAffected(t, r, iv, eco)
					got, gotOK := evalRange(cr, iv, eco)
					require.Equal(t, wantOK, gotOK, "%s %s: readable at %q", rec.GetId(), a.GetPackage().GetName(), p)
					require.Equal(t, want, got.affected, "%s %s: affected at %q", rec.GetId(), a.GetPackage().GetName(), p)
					compared++
				}
			}
			require.Equal(t, n, len(compact.Ranges))
		}
	}
	require.Greater(t, sorted, 500)
	t.Logf("%d records, %d sorted ranges, %d evaluations compared", len(records), sorted, compared)
}
