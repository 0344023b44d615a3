package vulndb

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"unsafe"

	"github.com/google/osv-scalibr/semantic"
	"github.com/ossf/osv-schema/bindings/go/osvschema"
	"google.golang.org/protobuf/types/known/structpb"
)

// The index holds what matching and reports need of each record, in a compact binary form
// read without reflection: a package's value lists, for every record that names it, the
// record's id and its affected entries for the package (Affected); the record's text
// (Record) is stored once and read only when a range matches.

// Affected is one affected entry of a record, for one package: what decides whether an
// installed version is affected, and the entry's own severities.
type Affected struct {
	Ecosystem string // with its release ("Debian:12")
	Name      string // as the record spells it
	// Versions lists affected versions one by one.
	Versions []string
	// Ranges are the entry's ECOSYSTEM and SEMVER ranges (GIT ranges need commits, which
	// images do not carry, and are not kept).
	Ranges []Range
	// Severity is the entry's own CVSS vectors; Ratings its ecosystem_specific then
	// database_specific "severity", "priority" and "urgency" values, in that order.
	Severity []Severity
	Ratings  []string
	// Imports are the packages and symbols the entry names as vulnerable (Go records'
	// ecosystem_specific.imports): reachability decides from them. None: no symbol data.
	Imports []GoImport
}

// GoImport is one vulnerable package of a Go record: its import path, the vulnerable
// symbols in it ("Func", "Type.Method"; none: the whole package), and the platforms it is
// vulnerable on (none: all).
type GoImport struct {
	Path                  string
	Symbols, GOOS, GOARCH []string
}

// Range is one ECOSYSTEM or SEMVER range.
type Range struct {
	Semver bool
	// Events are the range's introduced, fixed and last_affected events; Sorted says they
	// are in version order (introduced "0" first), every version having been parsed in
	// the ecosystem's order when the data was imported. A range whose versions did not
	// all parse keeps its events as the record lists them, unsorted.
	Events []Event
	Sorted bool
	// Limits are the range's limit versions ("*" is no limit and is left out).
	Limits []string
}

// EventKind is the kind of a range event.
type EventKind byte

// The kinds of range events.
const (
	Introduced EventKind = iota + 1
	Fixed
	LastAffected
)

// Event is one range event: its kind and version.
type Event struct {
	Kind    EventKind
	Version string
}

// Severity is a CVSS vector and its type.
type Severity struct {
	Type   osvschema.Severity_Type
	Vector string
}

// Record is a record's text: what a finding shows of it.
type Record struct {
	ID         string
	Aliases    []string
	Upstream   []string
	Summary    string
	References []string // at most maxReferences URLs
	// Severity is the record's CVSS vectors; Ratings its database_specific "severity",
	// "priority" and "urgency" values.
	Severity []Severity
	Ratings  []string
}

// ParseVersion parses v in the version order of the base ecosystem or, for SEMVER ranges,
// of semver.
func ParseVersion(v, base string, semver bool) (semantic.Version, error) {
	if semver {
		return semantic.ParseSemverVersion(strings.TrimPrefix(v, "v")), nil
	}
	return semantic.Parse(v, base)
}

// ratingKeys are the fields advisory databases put their own rating in: GitHub's
// database_specific.severity, Ubuntu's priority, Debian's urgency.
var ratingKeys = []string{"severity", "priority", "urgency"}

func ratings(structs ...*structpb.Struct) []string {
	var out []string
	for _, st := range structs {
		for _, key := range ratingKeys {
			if s := st.GetFields()[key].GetStringValue(); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func severities(list []*osvschema.Severity) []Severity {
	var out []Severity
	for _, s := range list {
		if s.GetScore() != "" {
			out = append(out, Severity{Type: s.GetType(), Vector: s.GetScore()})
		}
	}
	return out
}

// CompactAffected is what the index keeps of a's affected entry (base: the base ecosystem,
// whose version order sorts the range events).
func CompactAffected(a *osvschema.Affected, base string) Affected {
	out := Affected{
		Ecosystem: a.GetPackage().GetEcosystem(),
		Name:      a.GetPackage().GetName(),
		Versions:  a.GetVersions(),
		Severity:  severities(a.GetSeverity()),
		Ratings:   ratings(a.GetEcosystemSpecific(), a.GetDatabaseSpecific()),
		Imports:   imports(a.GetEcosystemSpecific()),
	}
	for _, r := range a.GetRanges() {
		t := r.GetType()
		if t != osvschema.Range_ECOSYSTEM && t != osvschema.Range_SEMVER {
			continue
		}
		rg := Range{Semver: t == osvschema.Range_SEMVER}
		for _, e := range r.GetEvents() {
			switch {
			case e.GetIntroduced() != "":
				rg.Events = append(rg.Events, Event{Introduced, e.GetIntroduced()})
			case e.GetFixed() != "":
				rg.Events = append(rg.Events, Event{Fixed, e.GetFixed()})
			case e.GetLastAffected() != "":
				rg.Events = append(rg.Events, Event{LastAffected, e.GetLastAffected()})
			case e.GetLimit() != "" && e.GetLimit() != "*":
				rg.Limits = append(rg.Limits, e.GetLimit())
			}
		}
		rg.Sorted = rg.sort(base)
		out.Ranges = append(out.Ranges, rg)
	}
	return out
}

// sort orders the events by version (introduced "0" first, ties kept in record order),
// and reports whether every version parsed and compared.
func (r *Range) sort(base string) bool {
	parsed := make([]semantic.Version, len(r.Events))
	for i, e := range r.Events {
		if e.Kind == Introduced && e.Version == "0" {
			continue
		}
		v, err := ParseVersion(e.Version, base, r.Semver)
		if err != nil {
			return false
		}
		parsed[i] = v
	}
	for _, l := range r.Limits {
		if _, err := ParseVersion(l, base, r.Semver); err != nil {
			return false
		}
	}
	order := make([]int, len(r.Events))
	for i := range order {
		order[i] = i
	}
	failed := false
	slices.SortStableFunc(order, func(i, j int) int {
		a, b := parsed[i], parsed[j]
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		case b == nil:
			return 1
		}
		c, err := a.Compare(b)
		if err != nil {
			failed = true
		}
		return c
	})
	if failed {
		return false
	}
	sorted := make([]Event, len(r.Events))
	for i, j := range order {
		sorted[i] = r.Events[j]
	}
	r.Events = sorted
	return true
}

// imports reads ecosystem_specific.imports: [{path, symbols, goos, goarch}].
func imports(st *structpb.Struct) []GoImport {
	var out []GoImport
	for _, v := range st.GetFields()["imports"].GetListValue().GetValues() {
		f := v.GetStructValue().GetFields()
		im := GoImport{Path: f["path"].GetStringValue(), Symbols: stringList(f["symbols"]), GOOS: stringList(f["goos"]), GOARCH: stringList(f["goarch"])}
		if im.Path != "" {
			out = append(out, im)
		}
	}
	return out
}

func stringList(v *structpb.Value) []string {
	var out []string
	for _, x := range v.GetListValue().GetValues() {
		if s := x.GetStringValue(); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// CompactRecord is what the index keeps of v's text.
func CompactRecord(v *osvschema.Vulnerability) Record {
	r := Record{
		ID:       v.GetId(),
		Aliases:  v.GetAliases(),
		Upstream: v.GetUpstream(),
		Summary:  v.GetSummary(),
		Severity: severities(v.GetSeverity()),
		Ratings:  ratings(v.GetDatabaseSpecific()),
	}
	for _, ref := range v.GetReferences() {
		if u := ref.GetUrl(); u != "" && len(r.References) < maxReferences {
			r.References = append(r.References, u)
		}
	}
	return r
}

// IDs are the record's identifiers: its id, aliases and upstream ids.
func (r *Record) IDs() []string {
	out := make([]string, 0, 1+len(r.Aliases)+len(r.Upstream))
	out = append(out, r.ID)
	out = append(out, r.Aliases...)
	return append(out, r.Upstream...)
}

// The encoding: unsigned varints for counts and lengths, strings as length and bytes.

type encoder struct{ b []byte }

func (e *encoder) n(n int)      { e.b = binary.AppendUvarint(e.b, uint64(n)) }
func (e *encoder) str(s string) { e.n(len(s)); e.b = append(e.b, s...) }
func (e *encoder) strs(s []string) {
	e.n(len(s))
	for _, x := range s {
		e.str(x)
	}
}

func (e *encoder) severities(s []Severity) {
	e.n(len(s))
	for _, x := range s {
		e.n(int(x.Type))
		e.str(x.Vector)
	}
}

// encodeEntry is one package entry: the record id and its affected entries for the
// package.
func encodeEntry(id string, affected []Affected) []byte {
	e := &encoder{}
	e.str(id)
	e.n(len(affected))
	for _, a := range affected {
		e.str(a.Ecosystem)
		e.str(a.Name)
		e.strs(a.Versions)
		e.n(len(a.Ranges))
		for _, r := range a.Ranges {
			flags := 0
			if r.Semver {
				flags |= 1
			}
			if r.Sorted {
				flags |= 2
			}
			e.n(flags)
			e.n(len(r.Events))
			for _, ev := range r.Events {
				e.b = append(e.b, byte(ev.Kind))
				e.str(ev.Version)
			}
			e.strs(r.Limits)
		}
		e.severities(a.Severity)
		e.strs(a.Ratings)
		e.n(len(a.Imports))
		for _, im := range a.Imports {
			e.str(im.Path)
			e.strs(im.Symbols)
			e.strs(im.GOOS)
			e.strs(im.GOARCH)
		}
	}
	return e.b
}

func encodeRecord(r Record) []byte {
	e := &encoder{}
	e.str(r.ID)
	e.strs(r.Aliases)
	e.strs(r.Upstream)
	e.str(r.Summary)
	e.strs(r.References)
	e.severities(r.Severity)
	e.strs(r.Ratings)
	return e.b
}

var errCorrupt = errors.New("malformed index entry")

// decoder reads an encoded value. Its strings share the value's memory, which must not
// change afterwards (a copy out of the database's transaction). A value that ends early or
// claims more than it holds sets err, never panics.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) n() int {
	if d.err != nil {
		return 0
	}
	v, k := binary.Uvarint(d.b)
	if k <= 0 || v > uint64(len(d.b)) { // no count or length exceeds the bytes left
		d.err, d.b = errCorrupt, nil
		return 0
	}
	d.b = d.b[k:]
	return int(v)
}

// count reads a count of items that take at least size bytes each: a count the bytes
// left cannot hold is corrupt (and would allocate far more than the value holds).
func (d *decoder) count(size int) int {
	n := d.n()
	if n > len(d.b)/size {
		d.err, d.b = errCorrupt, nil
		return 0
	}
	return n
}

func (d *decoder) str() string {
	n := d.n()
	if d.err != nil || n > len(d.b) {
		d.err, d.b = errCorrupt, nil
		return ""
	}
	if n == 0 {
		return ""
	}
	s := unsafe.String(&d.b[0], n)
	d.b = d.b[n:]
	return s
}

func (d *decoder) strs() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err, d.b = errCorrupt, nil
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) severities() []Severity {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	out := make([]Severity, n)
	for i := range out {
		out[i] = Severity{Type: osvschema.Severity_Type(d.n()), Vector: d.str()}
	}
	return out
}

// decodeEntries reads a package's value: its entries one after the other.
func decodeEntries(b []byte) ([]Entry, error) {
	d := &decoder{b: b}
	var out []Entry
	for len(d.b) > 0 && d.err == nil {
		e := Entry{id: d.str()}
		e.Affected = make([]Affected, d.count(7))
		for i := range e.Affected {
			a := &e.Affected[i]
			a.Ecosystem, a.Name, a.Versions = d.str(), d.str(), d.strs()
			a.Ranges = make([]Range, d.count(3))
			for j := range a.Ranges {
				r := &a.Ranges[j]
				flags := d.n()
				r.Semver, r.Sorted = flags&1 != 0, flags&2 != 0
				r.Events = make([]Event, d.count(2))
				for k := range r.Events {
					r.Events[k] = Event{Kind: EventKind(d.byte()), Version: d.str()}
					if r.Events[k].Kind < Introduced || r.Events[k].Kind > LastAffected {
						d.err = errCorrupt
					}
				}
				r.Limits = d.strs()
			}
			a.Severity, a.Ratings = d.severities(), d.strs()
			if n := d.count(4); n > 0 {
				a.Imports = make([]GoImport, n)
				for k := range a.Imports {
					a.Imports[k] = GoImport{Path: d.str(), Symbols: d.strs(), GOOS: d.strs(), GOARCH: d.strs()}
				}
			}
		}
		if d.err == nil && e.id == "" {
			d.err = errCorrupt
		}
		out = append(out, e)
	}
	return out, d.err
}

func decodeRecord(b []byte) (*Record, error) {
	d := &decoder{b: b}
	r := &Record{ID: d.str(), Aliases: d.strs(), Upstream: d.strs(), Summary: d.str(), References: d.strs(), Severity: d.severities(), Ratings: d.strs()}
	if d.err == nil && (len(d.b) != 0 || r.ID == "") {
		d.err = errCorrupt
	}
	return r, d.err
}
