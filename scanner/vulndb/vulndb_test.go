package vulndb_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imagegate/imagegate/scanner/ecosystem"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

func npmZip(t *testing.T) []byte { return imagetest.Fixture(t, "osv/npm/all.zip") }

// zipFacts reads a zip independently of the code under test: records, withdrawn ids, and
// the ids naming each npm package.
func zipFacts(t *testing.T, data []byte) (records int, withdrawn map[string]bool, byPackage map[string][]string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	withdrawn, byPackage = map[string]bool{}, map[string][]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		var r struct {
			ID        string `json:"id"`
			Withdrawn string `json:"withdrawn"`
			Affected  []struct {
				Package struct{ Name string } `json:"package"`
			} `json:"affected"`
		}
		require.NoError(t, json.NewDecoder(rc).Decode(&r))
		rc.Close()
		records++
		if r.Withdrawn != "" {
			withdrawn[r.ID] = true
			continue
		}
		for _, a := range r.Affected {
			byPackage[a.Package.Name] = append(byPackage[a.Package.Name], r.ID)
		}
	}
	return records, withdrawn, byPackage
}

func TestImportZipAndQuery(t *testing.T) {
	data := npmZip(t)
	total, withdrawn, byPackage := zipFacts(t, data)
	src := filepath.Join(t.TempDir(), "all.zip")
	require.NoError(t, os.WriteFile(src, data, 0o644))
	dir := t.TempDir()

	infos, err := vulndb.Import(context.Background(), dir, src)
	require.NoError(t, err)
	require.Len(t, infos, 1)
	assert.Equal(t, "npm", infos[0].Ecosystem)
	assert.Equal(t, total-len(withdrawn), infos[0].Records)
	assert.Equal(t, len(withdrawn), infos[0].Withdrawn)
	assert.NotEmpty(t, infos[0].SHA256)

	s, err := vulndb.Open(dir)
	require.NoError(t, err)
	defer s.Close()
	got, err := s.Query("npm", "lodash")
	require.NoError(t, err)
	var ids []string
	for _, v := range got {
		ids = append(ids, v.ID())
	}
	assert.ElementsMatch(t, dedupe(byPackage["lodash"]), ids)
	for id := range withdrawn {
		assert.NotContains(t, ids, id)
	}
	none, err := s.Query("npm", "no-such-package")
	require.NoError(t, err)
	assert.Empty(t, none)
	other, err := s.Query("PyPI", "lodash")
	require.NoError(t, err)
	assert.Empty(t, other, "no PyPI data in this store")
	assert.False(t, s.Has("PyPI"))
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func TestImportFolderSkipsInvalidRecords(t *testing.T) {
	src := t.TempDir()
	for _, eco := range []string{"PyPI", "Debian"} {
		entries, err := os.ReadDir(filepath.Join(imagetest.RepoRoot(t), "testdata", "osv-records", eco))
		require.NoError(t, err)
		for _, e := range entries {
			b := imagetest.Fixture(t, filepath.Join("osv-records", eco, e.Name()))
			require.NoError(t, os.WriteFile(filepath.Join(src, e.Name()), b, 0o644))
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(src, "broken.json"), []byte(`{"id": "X-1", "affected": [`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "not-osv.json"), []byte(`{"hello": "world"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "wrong-types.json"), []byte(`{"id": 42}`), 0o644))

	dir := t.TempDir()
	infos, err := vulndb.Import(context.Background(), dir, src)
	require.NoError(t, err)
	require.Len(t, infos, 2)
	for _, i := range infos {
		assert.Equal(t, 3, i.Skipped, i.Ecosystem)
	}
	s, err := vulndb.Open(dir)
	require.NoError(t, err)
	defer s.Close()
	got, err := s.Query("PyPI", "pyyaml") // the records say PyYAML: PEP 503 names match
	require.NoError(t, err)
	assert.Len(t, got, 2)
	got, err = s.Query("Debian:11", "openssl")
	require.NoError(t, err)
	assert.Len(t, got, 2)
	got, err = s.Query("Debian:12", "openssl")
	require.NoError(t, err)
	assert.Empty(t, got, "records are per release")
}

func TestImportBadInput(t *testing.T) {
	dir := t.TempDir()
	// A good database first: a failed import must not touch it.
	good := filepath.Join(t.TempDir(), "all.zip")
	require.NoError(t, os.WriteFile(good, npmZip(t), 0o644))
	_, err := vulndb.Import(context.Background(), dir, good)
	require.NoError(t, err)
	before, err := os.ReadFile(filepath.Join(dir, "npm.db"))
	require.NoError(t, err)

	data := npmZip(t)
	truncated := filepath.Join(t.TempDir(), "truncated.zip")
	require.NoError(t, os.WriteFile(truncated, data[:len(data)/2], 0o644))
	notZip := filepath.Join(t.TempDir(), "x.zip")
	require.NoError(t, os.WriteFile(notZip, []byte("PK\x03\x04 but not really a zip file"), 0o644))

	for name, p := range map[string]string{"truncated zip": truncated, "not a zip": notZip, "missing": filepath.Join(t.TempDir(), "nope.zip")} {
		t.Run(name, func(t *testing.T) {
			_, err := vulndb.Import(context.Background(), dir, p)
			require.Error(t, err)
			assert.Equal(t, failure.ExitInput, failure.Code(err))
			after, err := os.ReadFile(filepath.Join(dir, "npm.db"))
			require.NoError(t, err)
			assert.Equal(t, before, after, "the previous database is kept")
		})
	}

	// A database folder that cannot be created (a file stands in its way).
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	_, err = vulndb.Import(context.Background(), filepath.Join(blocker, "db"), good)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "not a directory")
}

func TestImportIntoReadOnlyFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores folder permissions; TestImportBadInput covers an unwritable folder")
	}
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o555))
	good := filepath.Join(t.TempDir(), "all.zip")
	require.NoError(t, os.WriteFile(good, npmZip(t), 0o644))
	_, err := vulndb.Import(context.Background(), dir, good)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "not writable")
}

func TestMissingAndCorruptDatabase(t *testing.T) {
	_, err := vulndb.OpenPath(context.Background(), filepath.Join(t.TempDir(), "none"))
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "imagegate db update")

	_, err = vulndb.Open(t.TempDir())
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))

	dir := t.TempDir()
	good := filepath.Join(t.TempDir(), "all.zip")
	require.NoError(t, os.WriteFile(good, npmZip(t), 0o644))
	_, err = vulndb.Import(context.Background(), dir, good)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "npm.db"), bytes.Repeat([]byte("corrupt!"), 1024), 0o644))
	s, err := vulndb.Open(dir)
	require.NoError(t, err)
	_, err = s.Query("npm", "lodash")
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "rebuild")
}

// Each <Ecosystem>/all.zip is indexed when a scan first needs it, once: an image with
// npm packages never pays for the Alpine index.
func TestZipFolderIsIndexedOnce(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "npm"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "npm", "all.zip"), npmZip(t), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "Alpine"), 0o755))
	alpine, err := os.ReadFile(filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "Alpine", "all.zip"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "Alpine", "all.zip"), alpine, 0o644))
	s1, err := vulndb.OpenPath(context.Background(), root)
	require.NoError(t, err)
	assert.True(t, s1.Has("Alpine:v3.20") && s1.Has("npm"), "both are there to be indexed")
	assert.Empty(t, s1.Infos(), "nothing is indexed before it is needed")
	got, err := s1.Query("npm", "minimist")
	require.NoError(t, err)
	assert.NotEmpty(t, got)
	dir := s1.IndexDir("npm")
	require.NotEmpty(t, dir)
	assert.Empty(t, s1.IndexDir("Alpine"), "Alpine was not asked for")
	require.Len(t, s1.Infos(), 1)
	s1.Close()
	st1, err := os.Stat(filepath.Join(dir, "npm.db"))
	require.NoError(t, err)
	s2, err := vulndb.OpenPath(context.Background(), root)
	require.NoError(t, err)
	defer s2.Close()
	_, err = s2.Query("npm", "minimist")
	require.NoError(t, err)
	assert.Equal(t, dir, s2.IndexDir("npm"))
	st2, err := os.Stat(filepath.Join(dir, "npm.db"))
	require.NoError(t, err)
	assert.Equal(t, st1.ModTime(), st2.ModTime(), "the second open reuses the index")
}

func TestUnknownEcosystem(t *testing.T) {
	err := vulndb.CheckEcosystems([]string{"npm", "Cobol"})
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	_, err = vulndb.Update(context.Background(), t.TempDir(), vulndb.UpdateOptions{Ecosystems: []string{"Cobol"}})
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
}

// exportServer serves npm/all.zip with an ETag, answers conditional requests, and can be
// told to serve a broken body.
type exportServer struct {
	body     atomic.Pointer[[]byte]
	etag     atomic.Pointer[string]
	cutShort atomic.Bool
	// md5Of, when set, is the body whose MD5 the x-goog-hash header publishes.
	md5Of    atomic.Pointer[[]byte]
	requests atomic.Int32
	got304   atomic.Int32
}

func (e *exportServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.requests.Add(1)
	if r.URL.Path != "/npm/all.zip" {
		http.NotFound(w, r)
		return
	}
	etag := *e.etag.Load()
	if r.Header.Get("If-None-Match") == etag {
		e.got304.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := *e.body.Load()
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", "Wed, 25 Nov 2026 10:00:00 GMT")
	w.Header().Set("Content-Length", itoa(len(body)))
	if m := e.md5Of.Load(); m != nil {
		sum := md5.Sum(*m)
		w.Header().Set("X-Goog-Hash", "crc32c=AAAAAA==,md5="+base64.StdEncoding.EncodeToString(sum[:]))
	}
	if e.cutShort.Load() {
		w.Write(body[:len(body)/3]) // the connection ends early
		return
	}
	w.Write(body)
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestUpdateConditionalAndBroken(t *testing.T) {
	srv := &exportServer{}
	good := npmZip(t)
	srv.body.Store(&good)
	srv.md5Of.Store(&good) // the published digest matches
	etag1 := `"v1"`
	srv.etag.Store(&etag1)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	var log bytes.Buffer
	opts := vulndb.UpdateOptions{Source: ts.URL, Ecosystems: []string{"npm"}, Log: &log}

	// First download.
	res, err := vulndb.Update(context.Background(), dir, opts)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.True(t, res[0].Changed)
	assert.Equal(t, `"v1"`, res[0].Info.ETag)
	assert.Equal(t, ts.URL+"/npm/all.zip", res[0].Info.Source)
	assert.Contains(t, log.String(), "npm: downloading all.zip")
	dbBefore, err := os.ReadFile(filepath.Join(dir, "npm.db"))
	require.NoError(t, err)

	// Second: the server answers 304 and nothing is downloaded.
	res, err = vulndb.Update(context.Background(), dir, opts)
	require.NoError(t, err)
	assert.False(t, res[0].Changed)
	assert.Equal(t, int32(1), srv.got304.Load())

	// Third: new data, but the zip is broken: the old database stays.
	broken := append([]byte(nil), good[:len(good)-200]...)
	srv.body.Store(&broken)
	etag2 := `"v2"`
	srv.etag.Store(&etag2)
	_, err = vulndb.Update(context.Background(), dir, opts)
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "previous data is kept")

	// Fourth: the connection drops mid-way.
	srv.body.Store(&good)
	srv.cutShort.Store(true)
	_, err = vulndb.Update(context.Background(), dir, opts)
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))

	// Fifth: a whole, valid zip whose MD5 is not the one the source publishes.
	srv.cutShort.Store(false)
	other := append(append([]byte(nil), good...), 0)
	srv.md5Of.Store(&other)
	_, err = vulndb.Update(context.Background(), dir, opts)
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "not the published")

	dbAfter, err := os.ReadFile(filepath.Join(dir, "npm.db"))
	require.NoError(t, err)
	assert.Equal(t, dbBefore, dbAfter)
	s, err := vulndb.Open(dir)
	require.NoError(t, err)
	defer s.Close()
	info, _ := s.Info("npm")
	assert.Equal(t, `"v1"`, info.ETag)
	got, err := s.Query("npm", "lodash")
	require.NoError(t, err)
	assert.NotEmpty(t, got)
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	assert.Empty(t, leftovers, "no temporary files stay behind")

	// A server error is an incomplete scan too.
	_, err = vulndb.Update(context.Background(), dir, vulndb.UpdateOptions{Source: ts.URL + "/missing", Ecosystems: []string{"npm"}, Log: io.Discard})
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
}

func TestNormalizeName(t *testing.T) {
	assert.Equal(t, "pyyaml", ecosystem.NormalizeName("PyPI", "PyYAML"))
	assert.Equal(t, "zope-interface", ecosystem.NormalizeName("PyPI", "zope.interface"))
	assert.Equal(t, "a-b", ecosystem.NormalizeName("PyPI", "A__-.b"))
	assert.Equal(t, "PyYAML", ecosystem.NormalizeName("npm", "PyYAML"))
}

// A store file truncated mid-page or altered after it was built is never read: opening the
// ecosystem fails with exit 3 and the command that rebuilds it. The files are readable by
// other users (a store baked into a CI image by root is read by the runner's user).
func TestStoreIsVerifiedBeforeUse(t *testing.T) {
	src := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip")
	for name, damage := range map[string]func(path string){
		"truncated mid-page": func(p string) {
			st, err := os.Stat(p)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(p, st.Size()-100))
		},
		"one byte changed": func(p string) {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			b[len(b)/2] ^= 0xff
			require.NoError(t, os.WriteFile(p, b, 0o644))
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := vulndb.Import(context.Background(), dir, src)
			require.NoError(t, err)
			for _, f := range []string{"npm.db", "npm.json"} {
				st, err := os.Stat(filepath.Join(dir, f))
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), f)
			}
			s, err := vulndb.Open(dir)
			require.NoError(t, err)
			_, err = s.Query("npm", "minimist")
			require.NoError(t, err, "the store as built is read")
			s.Close()

			damage(filepath.Join(dir, "npm.db"))
			s, err = vulndb.Open(dir)
			require.NoError(t, err)
			defer s.Close()
			_, err = s.Query("npm", "minimist")
			require.Error(t, err)
			assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
			assert.Contains(t, err.Error(), "is corrupt")
			assert.Contains(t, err.Error(), "imagegate db update")
		})
	}
}

// A store whose folder this user cannot write (here: a folder stands where the stamp
// would go) keeps the stamp of its verified digest in the user's private cache, naming the
// file as it was; a change after that no longer matches the stamp and is caught.
func TestUnwritableStoreKeepsItsStampInTheCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	dir := t.TempDir()
	_, err := vulndb.Import(context.Background(), dir, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip"))
	require.NoError(t, err)
	os.Remove(filepath.Join(dir, "npm.db.verified"))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "npm.db.verified"), 0o755))
	s, err := vulndb.Open(dir)
	require.NoError(t, err)
	_, err = s.Query("npm", "minimist")
	require.NoError(t, err)
	s.Close()
	stamps, err := filepath.Glob(filepath.Join(cache, "imagegate", "verified", "*"))
	require.NoError(t, err)
	require.Len(t, stamps, 1, "the stamp is in the private cache")
	b, err := os.ReadFile(stamps[0])
	require.NoError(t, err)
	info, ok := s.Info("npm")
	require.True(t, ok)
	assert.True(t, strings.HasSuffix(string(b), " "+info.IndexSHA256), "%s", b)

	db := filepath.Join(dir, "npm.db")
	data, err := os.ReadFile(db)
	require.NoError(t, err)
	data[len(data)/2] ^= 0xff
	require.NoError(t, os.WriteFile(db, data, 0o644))
	s, err = vulndb.Open(dir)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Query("npm", "minimist")
	require.Error(t, err, "the changed file no longer matches the stamp: it is hashed again")
	assert.Contains(t, err.Error(), "is corrupt")
}

// With no home folder the index goes to a folder of this user's own in the temporary
// folder; one planted there by someone else is refused, never used; an index whose zips
// changed is rebuilt, not trusted.
func TestZipIndexCacheIsPrivate(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("planting a folder owned by another user needs root")
	}
	tmp := t.TempDir()
	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("TMPDIR", tmp)
	zips := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(zips, "npm"), 0o755))
	src, err := os.ReadFile(filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(zips, "npm", "all.zip"), src, 0o644))

	// Someone else's folder where ours would be.
	planted := filepath.Join(tmp, fmt.Sprintf("imagegate-%d", os.Getuid()))
	require.NoError(t, os.MkdirAll(filepath.Join(planted, "imagegate"), 0o777))
	require.NoError(t, os.Chown(filepath.Join(planted, "imagegate"), 12345, 12345))
	_, err = openAndQuery(zips)
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "belongs to another user")

	require.NoError(t, os.RemoveAll(planted))
	s, err := openAndQuery(zips)
	require.NoError(t, err)
	dir := s.IndexDir("npm")
	s.Close()
	for d := dir; d != tmp; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		require.NoError(t, err)
		if strings.HasPrefix(d, planted) {
			assert.Equal(t, os.FileMode(0o700), st.Mode().Perm(), d)
		}
	}
	// The index no longer matches its zip (same size and time, other bytes): it is built
	// anew, not trusted (a marker left in it is gone).
	require.NoError(t, os.WriteFile(filepath.Join(dir, "marker"), nil, 0o600))
	s, err = openAndQuery(zips)
	require.NoError(t, err)
	s.Close()
	assert.FileExists(t, filepath.Join(dir, "marker"), "unchanged zips: the index is reused")
	info, err := os.Stat(filepath.Join(zips, "npm", "all.zip"))
	require.NoError(t, err)
	b := append([]byte(nil), src...)
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(filepath.Join(zips, "npm", "all.zip"), b, 0o644))
	require.NoError(t, os.Chtimes(filepath.Join(zips, "npm", "all.zip"), info.ModTime(), info.ModTime()))
	if s, err := openAndQuery(zips); err == nil {
		s.Close()
	}
	assert.NoFileExists(t, filepath.Join(dir, "marker"), "a changed zip: the index is built anew")
}

// An export whose record repeats a 2 MB summary for 1,000 packages is refused before the
// per-package copies are made (2 GB), with exit 2. (Stored uncompressed: compressed, the

// An advisory that names 1,000 packages (as Red Hat-style records name hundreds) is stored
// once: its 2 MB text is not copied per package, in memory or on disk, and each package
// finds it.
func TestRepeatedTextIsNotCopiedPerPackage(t *testing.T) {
	var affected []map[string]any
	for i := range 1000 {
		affected = append(affected, map[string]any{
			"package": map[string]any{"ecosystem": "npm", "name": fmt.Sprintf("pkg-%d", i)},
			"ranges":  []map[string]any{{"type": "SEMVER", "events": []map[string]any{{"introduced": "0"}}}},
		})
	}
	rec, err := json.Marshal(map[string]any{"id": "GHSA-repeat", "modified": "2024-01-01T00:00:00Z", "summary": strings.Repeat("s", 2<<20), "affected": affected})
	require.NoError(t, err)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "GHSA-repeat.json", Method: zip.Store})
	require.NoError(t, err)
	w.Write(rec)
	require.NoError(t, zw.Close())
	src := filepath.Join(t.TempDir(), "all.zip")
	require.NoError(t, os.WriteFile(src, buf.Bytes(), 0o644))
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	dir := t.TempDir()
	infos, err := vulndb.Import(context.Background(), dir, src)
	require.NoError(t, err)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(256<<20), "no per-package copies were made")
	assert.Less(t, infos[0].Size, int64(8<<20), "the text is stored once (copied per package: 2 GB)")
	s, err := vulndb.Open(dir)
	require.NoError(t, err)
	defer s.Close()
	for _, name := range []string{"pkg-0", "pkg-999"} {
		got, err := s.Query("npm", name)
		require.NoError(t, err)
		require.Len(t, got, 1)
		rec, err := got[0].Record()
		require.NoError(t, err)
		assert.Len(t, rec.Summary, 2<<20)
		require.Len(t, got[0].Affected, 1, "the package's own entry")
		assert.Equal(t, name, got[0].Affected[0].Name)
	}
}

// A small zip of large, highly compressible records (8 MB of padding from kilobytes) is
// refused member by member, before the records are held in memory.
func TestCompressedPaddingIsRefused(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range 50 {
		w, err := zw.Create(fmt.Sprintf("GHSA-pad-%d.json", i))
		require.NoError(t, err)
		fmt.Fprintf(w, `{"id": "GHSA-pad-%d", "summary": "%s", "affected": [{"package": {"ecosystem": "npm", "name": "a"}}]}`, i, strings.Repeat("p", 7<<20))
	}
	require.NoError(t, zw.Close())
	require.Less(t, buf.Len(), 2<<20)
	src := filepath.Join(t.TempDir(), "all.zip")
	require.NoError(t, os.WriteFile(src, buf.Bytes(), 0o644))
	_, err := vulndb.Import(context.Background(), t.TempDir(), src)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "zip bomb")
}

// openAndQuery opens a folder of zips and asks for an npm package, which indexes npm.
func openAndQuery(zips string) (*vulndb.Store, error) {
	s, err := vulndb.OpenPath(context.Background(), zips)
	if err != nil {
		return nil, err
	}
	if _, err := s.Query("npm", "minimist"); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Data indexed by another imagegate version (another index layout) is not misread: a scan
// says to update it, and db update fetches and indexes it anew, not conditionally.
func TestUpdateRebuildsAnotherLayout(t *testing.T) {
	srv := &exportServer{}
	good := npmZip(t)
	srv.body.Store(&good)
	etag := `"v1"`
	srv.etag.Store(&etag)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	opts := vulndb.UpdateOptions{Source: ts.URL, Ecosystems: []string{"npm"}, Log: io.Discard}
	_, err := vulndb.Update(context.Background(), dir, opts)
	require.NoError(t, err)

	// Rewrite the description as an older version wrote it.
	p := filepath.Join(dir, "npm.json")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	var info map[string]any
	require.NoError(t, json.Unmarshal(b, &info))
	info["format"] = vulndb.FormatVersion - 1
	b, err = json.Marshal(info)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	_, err = vulndb.Open(dir)
	require.ErrorContains(t, err, "run 'imagegate db update'")

	res, err := vulndb.Update(context.Background(), dir, opts)
	require.NoError(t, err)
	assert.True(t, res[0].Changed, "fetched anew, not answered 304")
	assert.Zero(t, srv.got304.Load())
	s, err := vulndb.Open(dir)
	require.NoError(t, err)
	s.Close()
}
