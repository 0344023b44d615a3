package image

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"time"
)

// FS returns the final filesystem as an io/fs file system (fs.FS, fs.ReadDirFS and
// fs.StatFS), the shape osv-scalibr's extractors read. Every entry can be listed and
// stat'ed; only retained files can be read: opening another regular file fails with
// ErrNotRetained. Opened files implement io.ReaderAt and io.Seeker.
func (x *Index) FS() *FS { return &FS{x: x} }

// ErrNotRetained is returned when a file's bytes were not kept by the walk.
var ErrNotRetained = errors.New("file contents not retained by the layer walk")

// FS is the io/fs view of an Index.
type FS struct{ x *Index }

func (f *FS) stat(op, name string) (*File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	file, ok := f.x.Stat(name)
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}

// Open implements fs.FS.
func (f *FS) Open(name string) (fs.File, error) {
	file, err := f.stat("open", name)
	if err != nil {
		return nil, err
	}
	switch {
	case file.Type == TypeDir:
		entries, _ := f.x.ReadDir(name)
		return &openDir{info: fileInfo{file}, entries: entries}, nil
	case file.Retained:
		return &openFile{SectionReader: file.Content().Reader(), info: fileInfo{file}}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: ErrNotRetained}
}

// Stat implements fs.StatFS.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	file, err := f.stat("stat", name)
	if err != nil {
		return nil, err
	}
	return fileInfo{file}, nil
}

// ReadDir implements fs.ReadDirFS.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	entries, ok := f.x.ReadDir(name)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := make([]fs.DirEntry, len(entries))
	for i, e := range entries {
		out[i] = fs.FileInfoToDirEntry(fileInfo{e})
	}
	return out, nil
}

type fileInfo struct{ f *File }

func (i fileInfo) Name() string       { return path.Base(i.f.Path) }
func (i fileInfo) Size() int64        { return i.f.Size }
func (i fileInfo) Mode() fs.FileMode  { return i.f.Mode }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.f.Type == TypeDir }
func (i fileInfo) Sys() any           { return i.f }

type openFile struct {
	*io.SectionReader
	info fileInfo
}

func (o *openFile) Stat() (fs.FileInfo, error) { return o.info, nil }
func (o *openFile) Close() error               { return nil }

type openDir struct {
	info    fileInfo
	entries []*File
	pos     int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Close() error               { return nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.f.Path, Err: errors.New("is a directory")}
}

// ReadDir implements fs.ReadDirFile.
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.pos:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && len(rest) > n {
		rest = rest[:n]
	}
	d.pos += len(rest)
	out := make([]fs.DirEntry, len(rest))
	for i, e := range rest {
		out[i] = fs.FileInfoToDirEntry(fileInfo{e})
	}
	return out, nil
}

// Info returns the entry's metadata as an fs.FileInfo.
func (f *File) Info() fs.FileInfo { return fileInfo{f} }
