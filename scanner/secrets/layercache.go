package secrets

import (
	"bytes"
	"encoding/gob"
	"fmt"

	"github.com/imagegate/imagegate/scanner/image"
)

// CacheName implements image.LayerCacher.
func (*Layers) CacheName() string { return "secrets" }

// SaveLayer implements image.LayerCacher: the secrets found in layer i's files, by path.
// Once the text budget has skipped a file, no layer is saved: which layer it skipped
// depends on the order the layers were read in.
func (a *Layers) SaveLayer(i int) ([]byte, bool) {
	if a.skipped.Load() > 0 {
		return nil, false
	}
	a.mu.Lock()
	byPath := map[string][]Match{}
	for _, fs := range a.found {
		if fs.file.Layer == i {
			byPath[fs.file.Path] = append(byPath[fs.file.Path], fs.matches...)
		}
	}
	a.mu.Unlock()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(byPath); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// RestoreLayer implements image.LayerCacher.
func (a *Layers) RestoreLayer(files []*image.File, data []byte) error {
	var byPath map[string][]Match
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&byPath); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range files {
		if ms, ok := byPath[f.Path]; ok && f.Type == image.TypeRegular {
			a.found = append(a.found, fileSecrets{file: f, matches: ms})
			delete(byPath, f.Path)
		}
	}
	if len(byPath) > 0 {
		return fmt.Errorf("%d files with secrets are not among the layer's files", len(byPath))
	}
	return nil
}
