package image

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io/fs"

	"github.com/imagegate/imagegate/failure"
)

// LayerCache stores what the walk derived from one layer, so that a layer shared by many
// images (their common base) is read and analysed once. Keys are opaque; a cache that
// loses or refuses an entry only costs a read.
type LayerCache interface {
	Get(key string) ([]byte, bool)
	Put(key string, data []byte)
}

// LayerLocker is a LayerCache that can hold a key while one walk reads the layer, so that
// a walk of another image with the same layer waits for it instead of reading it too.
type LayerLocker interface {
	Lock(key string) (unlock func())
}

// LayerCacher is a Consumer whose results for one layer can be saved and restored. A
// layer is cached only when every consumer can save it.
type LayerCacher interface {
	Consumer
	// CacheName names the consumer's part of a cached layer.
	CacheName() string
	// SaveLayer encodes what Consume derived from the files of layer i; ok is false when
	// that part is not complete (a budget ran out, a file could not be read), and the
	// layer is then not cached.
	SaveLayer(i int) (data []byte, ok bool)
	// RestoreLayer takes back what SaveLayer saved, for the files of a layer read from
	// the cache (their Layer is this image's index of it).
	RestoreLayer(files []*File, data []byte) error
}

// WithLayerCache caches each layer's files and consumer results under its blob digest,
// its diff ID, version (which names the analyzers and their settings) and the walk's
// limits. Only registry images use it: their blobs are content-addressed and verified
// as they download, so a digest seen before is the same bytes.
func WithLayerCache(c LayerCache, version string) WalkOption {
	return func(o *walkOptions) { o.cache, o.cacheVersion = c, version }
}

type cachedFile struct {
	Path     string
	Type     FileType
	Mode     fs.FileMode
	UID, GID int
	Size     int64
	Linkname string
	Data     []byte
	Retained bool
	WantData bool
}

type cachedLayer struct {
	Files     []cachedFile
	Whiteouts []string
	Opaques   []string
	Consumers map[string][]byte
}

func (o *walkOptions) cacheKey(digest, diffID string) string {
	return fmt.Sprintf("%s|file=%d|expansion=%d|files=%d|%s|%s", o.cacheVersion, o.maxFileSize, o.maxExpansion, o.maxFiles, digest, diffID)
}

// cachers returns the consumers as LayerCachers, or false when one cannot be cached.
func (o *walkOptions) cachers() ([]LayerCacher, bool) {
	var out []LayerCacher
	for _, c := range o.consumers {
		lc, ok := c.(LayerCacher)
		if !ok {
			return nil, false
		}
		out = append(out, lc)
	}
	return out, true
}

// saveLayer stores a layer read whole, with nothing missing.
func (o *walkOptions) saveLayer(key string, index int, lc *layerContent) {
	if len(lc.incomplete) > 0 || len(lc.warnings) > 0 {
		return
	}
	cachers, _ := o.cachers()
	rec := cachedLayer{Whiteouts: lc.whiteouts, Opaques: lc.opaques, Consumers: map[string][]byte{}}
	for _, c := range cachers {
		data, ok := c.SaveLayer(index)
		if !ok {
			return
		}
		rec.Consumers[c.CacheName()] = data
	}
	rec.Files = make([]cachedFile, len(lc.files))
	for i, f := range lc.files {
		// A kept file waiting on disk is read back for the entry: while it is written, the
		// layer's kept files are in memory whole (the fleet's layer cache only).
		data, err := f.Content().ReadAll()
		if err != nil {
			return
		}
		rec.Files[i] = cachedFile{Path: f.Path, Type: f.Type, Mode: f.Mode, UID: int(f.UID), GID: int(f.GID), Size: f.Size, Linkname: f.Linkname(), Data: data, Retained: f.Retained, WantData: f.wantData}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&rec); err != nil {
		return
	}
	o.cache.Put(key, buf.Bytes())
}

// loadLayer returns a cached layer as layer index, with its consumers' results restored;
// false when it is not cached or unreadable.
func (o *walkOptions) loadLayer(key string, index int) (layerContent, bool, error) {
	var lc layerContent
	data, ok := o.cache.Get(key)
	if !ok {
		return lc, false, nil
	}
	var rec cachedLayer
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&rec); err != nil {
		return lc, false, nil
	}
	cachers, _ := o.cachers()
	for _, c := range cachers {
		if _, ok := rec.Consumers[c.CacheName()]; !ok {
			return lc, false, nil
		}
	}
	lc.whiteouts, lc.opaques = rec.Whiteouts, rec.Opaques
	lc.files = make([]*File, len(rec.Files))
	for i, cf := range rec.Files {
		f := &File{Path: cf.Path, Type: cf.Type, Mode: cf.Mode, UID: ownerID(cf.UID), GID: ownerID(cf.GID), Size: cf.Size, Retained: cf.Retained, Layer: index, wantData: cf.WantData}
		f.setLinkname(cf.Linkname)
		if cf.Retained && cf.Type == TypeRegular {
			if total := o.kept.total.Add(int64(len(cf.Data))); total > o.maxRetained {
				return lc, false, errRetained(o.maxRetained, "a cached layer")
			}
		}
		if cf.Data != nil {
			if err := o.kept.storeBytes(f, cf.Data); err != nil {
				return lc, false, err
			}
		}
		lc.files[i] = f
	}
	for _, c := range cachers {
		if err := c.RestoreLayer(lc.files, rec.Consumers[c.CacheName()]); err != nil {
			// Consumers before this one already hold the layer's results: reading the
			// layer again would count them twice.
			return layerContent{}, false, failure.Incompletef("layer cache entry unreadable (%s): %w; delete the layer cache folder", c.CacheName(), err)
		}
	}
	return lc, true, nil
}
