package inventory

import (
	"bytes"
	"encoding/gob"
	"fmt"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/gofuncs"
	"github.com/imagegate/imagegate/scanner/image"
)

// CacheName implements image.LayerCacher.
func (*Analyzer) CacheName() string { return "inventory" }

// SaveLayer implements image.LayerCacher: the packages of layer i's binaries, by path,
// then what each Go binary links (its table, or why it could not be read), by path, then
// the paths its OS file lists name (hashed), by path. A layer with a binary that could
// not be read is not saved.
func (a *Analyzer) SaveLayer(i int) ([]byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failedLayers[i] {
		return nil, false
	}
	byPath := map[string][]report.Package{}
	linked := map[string]goLinked{}
	for f, pkgs := range a.streamed {
		if f.Layer != i {
			continue
		}
		kept := make([]report.Package, len(pkgs))
		for j, p := range pkgs {
			if t, ok := p.Linked.(*gofuncs.Table); ok {
				linked[f.Path] = goLinked{Table: t}
			} else if p.LinkedError != "" {
				linked[f.Path] = goLinked{Error: p.LinkedError}
			}
			p.Linked, p.LinkedError = nil, "" // one table per binary, below
			kept[j] = p
		}
		byPath[f.Path] = kept
	}
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	if err := enc.Encode(byPath); err != nil {
		return nil, false
	}
	if err := enc.Encode(linked); err != nil {
		return nil, false
	}
	lists := map[string][]uint64{}
	for f, hashes := range a.lists {
		if f.Layer == i {
			lists[f.Path] = hashes
		}
	}
	if err := enc.Encode(lists); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// RestoreLayer implements image.LayerCacher.
func (a *Analyzer) RestoreLayer(files []*image.File, data []byte) error {
	var byPath map[string][]report.Package
	dec := gob.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&byPath); err != nil {
		return err
	}
	var linked map[string]goLinked
	if err := dec.Decode(&linked); err != nil {
		return err
	}
	var lists map[string][]uint64
	if err := dec.Decode(&lists); err != nil {
		return fmt.Errorf("the layer's OS file lists: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range files {
		if hashes, ok := lists[f.Path]; ok {
			a.lists[f] = hashes
			delete(lists, f.Path)
		}
		pkgs, ok := byPath[f.Path]
		if !ok {
			continue
		}
		l, ok := linked[f.Path]
		if ok && l.Table != nil && !a.keepTable(l.Table) {
			// Past the scan's budget for tables: not kept, as if read now (the layer is
			// then not cached again, which changes nothing here: it came from the cache).
			l = goLinked{Error: a.overBudgetLocked(f)}
		}
		for j := range pkgs {
			pkgs[j].Layer = f.Layer
			if ok {
				pkgs[j].LinkedError = l.Error
				if l.Table != nil {
					pkgs[j].Linked = l.Table
				}
			}
		}
		a.streamed[f] = pkgs
		delete(byPath, f.Path)
	}
	if len(byPath) > 0 || len(lists) > 0 {
		return fmt.Errorf("%d binaries and %d file lists are not among the layer's files", len(byPath), len(lists))
	}
	return nil
}

// goLinked is what a cached Go binary links, or why it could not be read.
type goLinked struct {
	Table *gofuncs.Table
	Error string
}
