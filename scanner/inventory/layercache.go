package inventory

import (
	"bytes"
	"encoding/gob"
	"fmt"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/image"
)

// CacheName implements image.LayerCacher.
func (*Analyzer) CacheName() string { return "inventory" }

// SaveLayer implements image.LayerCacher: the packages of layer i's binaries, by path. A
// layer with a binary that could not be read is not saved.
func (a *Analyzer) SaveLayer(i int) ([]byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failedLayers[i] {
		return nil, false
	}
	byPath := map[string][]report.Package{}
	for f, pkgs := range a.streamed {
		if f.Layer == i {
			byPath[f.Path] = pkgs
		}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(byPath); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// RestoreLayer implements image.LayerCacher.
func (a *Analyzer) RestoreLayer(files []*image.File, data []byte) error {
	var byPath map[string][]report.Package
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&byPath); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range files {
		pkgs, ok := byPath[f.Path]
		if !ok {
			continue
		}
		for j := range pkgs {
			pkgs[j].Layer = f.Layer
		}
		a.streamed[f] = pkgs
		delete(byPath, f.Path)
	}
	if len(byPath) > 0 {
		return fmt.Errorf("%d binaries are not among the layer's files", len(byPath))
	}
	return nil
}
