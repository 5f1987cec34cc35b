package fetch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"github.com/cyphertalk/cyphertalk-go/internal/testdata"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// refDataDir is the reference data directory (testdata.DirOrSkip), set by needRefData.
var refDataDir string

// small reference files, to keep the tests fast.
var smallOnly = []string{"hf-glue/rte/validation", "hf-glue/wnli/", "vocab/"}

func needRefData(t *testing.T) {
	t.Helper()
	refDataDir = filepath.Dir(testdata.FileOrSkip(t, "SHA256SUMS"))
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// refServer serves refDataDir with http.ServeContent (Range support) and
// records the Range headers it saw.
type refServer struct {
	*httptest.Server
	mu     sync.Mutex
	ranges []string
	hits   int
}

func newRefServer(t *testing.T, handler func(rs *refServer, w http.ResponseWriter, r *http.Request, data []byte, name string)) *refServer {
	t.Helper()
	rs := &refServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.hits++
		if rg := r.Header.Get("Range"); rg != "" {
			rs.ranges = append(rs.ranges, rg)
		}
		rs.mu.Unlock()
		rel := strings.TrimPrefix(r.URL.Path, "/")
		data, err := os.ReadFile(filepath.Join(refDataDir, filepath.FromSlash(rel)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if handler == nil {
			http.ServeContent(w, r, rel, time.Time{}, bytes.NewReader(data))
			return
		}
		handler(rs, w, r, data, rel)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *refServer) rangeCount() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.ranges)
}

func smallFiles(t *testing.T) []File {
	t.Helper()
	files, err := selectFiles(Manifest(), smallOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("only %d small files selected", len(files))
	}
	return files
}

func assertSameAsRef(t *testing.T, dest, rel string) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	want, err := os.ReadFile(filepath.Join(refDataDir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the reference copy", rel)
	}
}

func assertAbsent(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s should not exist (stat: %v)", p, err)
	}
}

// (1) and (2): fetch into an empty directory, then a second run skips all.
func TestFetchThenSkip(t *testing.T) {
	needRefData(t)
	srv := newRefServer(t, nil)
	dest := filepath.Join(t.TempDir(), "data")
	opts := Options{Dest: dest, Mirror: srv.URL, Only: smallOnly, Logger: testLogger(t)}
	files := Manifest()
	want := smallFiles(t)

	if got := Missing(dest, want); len(got) != len(want) {
		t.Fatalf("Missing before fetch: %d files, want %d", len(got), len(want))
	}
	rep, err := Fetch(context.Background(), files, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Downloaded) != len(want) || len(rep.Skipped) != 0 || len(rep.Resumed) != 0 {
		t.Fatalf("first run report: %+v", rep)
	}
	var total int64
	for _, f := range want {
		assertSameAsRef(t, dest, f.Path)
		assertAbsent(t, filepath.Join(dest, f.Path+".part"))
		st, _ := os.Stat(filepath.Join(refDataDir, f.Path))
		total += st.Size()
	}
	if rep.Bytes != total {
		t.Errorf("Bytes = %d, want %d", rep.Bytes, total)
	}
	if m := Missing(dest, want); len(m) != 0 {
		t.Errorf("Missing after fetch: %v", m)
	}

	hits := srv.hits
	rep, err = Fetch(context.Background(), files, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Skipped) != len(want) || len(rep.Downloaded) != 0 || rep.Bytes != 0 {
		t.Fatalf("second run report: %+v", rep)
	}
	if srv.hits != hits {
		t.Errorf("second run made %d requests", srv.hits-hits)
	}
}

// (3) resume with a Range request.
func TestFetchResume(t *testing.T) {
	needRefData(t)
	srv := newRefServer(t, nil)
	dest := t.TempDir()
	rel := "vocab/bert-base-uncased/vocab.txt"
	full, err := os.ReadFile(filepath.Join(refDataDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(dest, rel+".part")
	os.MkdirAll(filepath.Dir(part), 0o755)
	if err := os.WriteFile(part, full[:len(full)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Fetch(context.Background(), Manifest(), Options{Dest: dest, Mirror: srv.URL + "/", Only: []string{rel}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if srv.rangeCount() != 1 || srv.ranges[0] != "bytes="+itoa(len(full)/2)+"-" {
		t.Fatalf("server saw ranges %q", srv.ranges)
	}
	if len(rep.Resumed) != 1 || rep.Bytes != int64(len(full)-len(full)/2) {
		t.Fatalf("report %+v", rep)
	}
	assertSameAsRef(t, dest, rel)
	assertAbsent(t, part)
}

// (4) corrupt bytes: a DigestError naming the file and both digests, and no
// final file.
func TestFetchCorrupt(t *testing.T) {
	needRefData(t)
	srv := newRefServer(t, func(_ *refServer, w http.ResponseWriter, r *http.Request, data []byte, _ string) {
		bad := bytes.Clone(data)
		bad[len(bad)/3] ^= 0xff
		w.Write(bad)
	})
	dest := t.TempDir()
	rel := "hf-glue/wnli/validation-00000-of-00001.parquet"
	rep, err := Fetch(context.Background(), Manifest(), Options{Dest: dest, Mirror: srv.URL, Only: []string{rel}, Logger: testLogger(t)})
	if err == nil {
		t.Fatal("no error for corrupt data")
	}
	var de *DigestError
	if !errors.As(err, &de) {
		t.Fatalf("error is not a DigestError: %v", err)
	}
	want := "6e173b334d865cefac73866f1e65ba63664d31f9f253837225ddd3998d3422c2"
	for _, s := range []string{rel, want, de.Got, "Mirror"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not mention %q:\n%v", s, err)
		}
	}
	if de.Got == want || len(de.Got) != 64 {
		t.Errorf("got digest %q", de.Got)
	}
	if len(rep.Downloaded) != 0 {
		t.Errorf("report %+v", rep)
	}
	assertAbsent(t, filepath.Join(dest, rel))
	assertAbsent(t, filepath.Join(dest, rel+".part"))
}

// (5) a server that ignores Range, with a stale .part: the file is fetched
// whole and right.
func TestFetchServerIgnoresRange(t *testing.T) {
	needRefData(t)
	srv := newRefServer(t, func(_ *refServer, w http.ResponseWriter, r *http.Request, data []byte, _ string) {
		w.Header().Set("Content-Length", itoa(len(data)))
		w.Write(data) // 200 whatever the Range header says
	})
	dest := t.TempDir()
	rel := "hf-glue/rte/validation-00000-of-00001.parquet"
	part := filepath.Join(dest, rel+".part")
	os.MkdirAll(filepath.Dir(part), 0o755)
	if err := os.WriteFile(part, []byte("stale bytes from some other download"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Fetch(context.Background(), Manifest(), Options{Dest: dest, Mirror: srv.URL, Only: []string{rel}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if srv.rangeCount() != 1 {
		t.Errorf("expected one Range request, saw %q", srv.ranges)
	}
	if len(rep.Resumed) != 0 || len(rep.Downloaded) != 1 {
		t.Errorf("report %+v", rep)
	}
	assertSameAsRef(t, dest, rel)
	assertAbsent(t, part)
}

// (6) a server that dies mid-transfer: an error, the .part kept, no final
// file; a later run resumes it.
func TestFetchServerDies(t *testing.T) {
	needRefData(t)
	var die sync.Mutex
	dying := true
	srv := newRefServer(t, func(_ *refServer, w http.ResponseWriter, r *http.Request, data []byte, name string) {
		die.Lock()
		d := dying
		die.Unlock()
		if !d {
			http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
			return
		}
		w.Header().Set("Content-Length", itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	})
	dest := t.TempDir()
	rel := "hf-glue/wnli/train-00000-of-00001.parquet"
	opts := Options{Dest: dest, Mirror: srv.URL, Only: []string{rel}, Logger: testLogger(t)}
	_, err := Fetch(context.Background(), Manifest(), opts)
	if err == nil {
		t.Fatal("no error from a server that died")
	}
	if !strings.Contains(err.Error(), rel) || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("error does not name the file and URL: %v", err)
	}
	assertAbsent(t, filepath.Join(dest, rel))
	st, err := os.Stat(filepath.Join(dest, rel+".part"))
	if err != nil || st.Size() == 0 {
		t.Fatalf(".part not kept: %v", err)
	}

	die.Lock()
	dying = false
	die.Unlock()
	rep, err := Fetch(context.Background(), Manifest(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Resumed) != 1 {
		t.Errorf("second run did not resume: %+v", rep)
	}
	assertSameAsRef(t, dest, rel)
}

// Cancelling the context stops the download and keeps the .part.
func TestFetchCancel(t *testing.T) {
	needRefData(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := newRefServer(t, func(_ *refServer, w http.ResponseWriter, r *http.Request, data []byte, _ string) {
		w.Header().Set("Content-Length", itoa(len(data)))
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	dest := t.TempDir()
	rel := "hf-glue/wnli/train-00000-of-00001.parquet"
	go func() { // cancel once the first bytes are in the .part
		defer cancel()
		for range 500 {
			if st, err := os.Stat(filepath.Join(dest, rel+".part")); err == nil && st.Size() > 0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	_, err := Fetch(ctx, Manifest(), Options{Dest: dest, Mirror: srv.URL, Only: []string{rel}, Logger: testLogger(t)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	assertAbsent(t, filepath.Join(dest, rel))
	if _, err := os.Stat(filepath.Join(dest, rel+".part")); err != nil {
		t.Fatalf(".part not kept: %v", err)
	}
}

// An unreachable source: the error names the URL and says how to get the
// files otherwise.
func TestFetchNetworkErrorHint(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused from now on
	dest := t.TempDir()
	files := []File{{Path: "vocab/v.txt", URL: url + "/v.txt", SHA256: strings.Repeat("0", 64)}}
	_, err := Fetch(context.Background(), files, Options{Dest: dest, Logger: testLogger(t)})
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{url + "/v.txt", "Mirror", "copy the files", "vocab/v.txt"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not mention %q:\n%v", s, err)
		}
	}
}

// A local directory works as a mirror.
func TestFetchLocalMirror(t *testing.T) {
	needRefData(t)
	dest := t.TempDir()
	rel := "hf-glue/wnli/test-00000-of-00001.parquet"
	rep, err := Fetch(context.Background(), Manifest(), Options{Dest: dest, Mirror: refDataDir, Only: []string{rel}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Downloaded) != 1 {
		t.Errorf("report %+v", rep)
	}
	assertSameAsRef(t, dest, rel)
}

// Extract files: the archive is fetched, checked, transformed and verified;
// a failing primary source falls back to Alt; files without a digest are
// reported with the digest obtained.
func TestFetchExtractAltAndUnverified(t *testing.T) {
	tgz := makeTgz(t, map[string]string{
		"package/cb01": "\tB/np says/vbz hi/uh ./.\n",
		"package/ca01": "\n\n\tA/at ``/`` cat/nn ''/'' sat/vbd ./.\nHeading/nn-hl only/rb-hl\n",
	})
	want := "A \" cat \" sat .\nB says hi .\n"
	mux := http.NewServeMux()
	mux.HandleFunc("/pkg.tgz", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "pkg.tgz", time.Time{}, bytes.NewReader(tgz))
	})
	mux.HandleFunc("/plain.txt", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("plain\n")) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	files := []File{
		{
			Path: "corpus/c.txt", URL: srv.URL + "/gone.txt", SHA256: sha256Hex([]byte(want)),
			Alt: []Source{{URL: srv.URL + "/pkg.tgz", Extract: ExtractNPMCorpusBrown, SourceSHA256: sha256Hex(tgz)}},
		},
		{Path: "other/plain.txt", URL: srv.URL + "/plain.txt"},
	}
	dest := t.TempDir()
	rep, err := Fetch(context.Background(), files, Options{Dest: dest, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dest, "corpus/c.txt"))
	if string(got) != want {
		t.Fatalf("extracted %q, want %q", got, want)
	}
	assertAbsent(t, filepath.Join(dest, "corpus/c.txt.src.part"))
	assertAbsent(t, filepath.Join(dest, "corpus/c.txt.part"))
	if rep.Unverified["other/plain.txt"] != sha256Hex([]byte("plain\n")) || len(rep.Downloaded) != 2 {
		t.Errorf("report %+v", rep)
	}

	// A wrong archive digest stops before extraction.
	files[0].Alt[0].SourceSHA256 = strings.Repeat("1", 64)
	dest = t.TempDir()
	_, err = Fetch(context.Background(), files[:1], Options{Dest: dest, Logger: testLogger(t)})
	var de *DigestError
	if !errors.As(err, &de) || de.What != "download" {
		t.Fatalf("err = %v, want a DigestError on the download", err)
	}
	assertAbsent(t, filepath.Join(dest, "corpus/c.txt"))
	assertAbsent(t, filepath.Join(dest, "corpus/c.txt.src.part"))
}

func TestOnlyMatchingNothing(t *testing.T) {
	_, err := Fetch(context.Background(), Manifest(), Options{Dest: t.TempDir(), Only: []string{"nope/"}})
	if err == nil || !strings.Contains(err.Error(), "corpus/brown.txt") {
		t.Fatalf("err = %v", err)
	}
}

// (7) the manifest's digests are those of the reference SHA256SUMS, and it
// covers every reference file but README.md and glue/.
func TestManifestMatchesSHA256SUMS(t *testing.T) {
	needRefData(t)
	sums := readSums(t)
	inManifest := map[string]bool{}
	for _, f := range Manifest() {
		if inManifest[f.Path] {
			t.Errorf("%s listed twice", f.Path)
		}
		inManifest[f.Path] = true
		if err := checkRelPath(f.Path); err != nil {
			t.Error(err)
		}
		if f.URL == "" || f.Note == "" {
			t.Errorf("%s: no URL or Note", f.Path)
		}
		if f.SHA256 == "" {
			if _, ok := sums[f.Path]; ok {
				t.Errorf("%s: in SHA256SUMS but listed without a digest", f.Path)
			}
			if !strings.Contains(f.Note, "digest") {
				t.Errorf("%s: no digest and the Note does not say so", f.Path)
			}
			continue
		}
		want, ok := sums[f.Path]
		if !ok {
			t.Errorf("%s: not in SHA256SUMS", f.Path)
		} else if f.SHA256 != want {
			t.Errorf("%s: manifest sha256 %s, SHA256SUMS %s", f.Path, f.SHA256, want)
		}
		if f.Extract != "" {
			if _, err := lookupExtractor(f.Extract); err != nil {
				t.Error(err)
			}
		}
	}
	for p := range sums {
		if p != "README.md" && !strings.HasPrefix(p, "glue/") && !inManifest[p] {
			t.Errorf("%s: in SHA256SUMS, not in the manifest", p)
		}
	}
}

func TestExpectedFilesMessage(t *testing.T) {
	msg := ExpectedFilesMessage(Manifest())
	for _, s := range []string{"corpus/brown.txt", CorpusBrownURL, ExtractNPMCorpusBrown, BertTokenizerURL,
		"hf-glue/qqp/train-00000-of-00001.parquet", "not verified"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q", s)
		}
	}
}

func readSums(t *testing.T) map[string]string {
	t.Helper()
	in, err := os.Open(filepath.Join(refDataDir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		digest, p, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("bad SHA256SUMS line %q", sc.Text())
		}
		sums[strings.TrimPrefix(p, "./")] = digest
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}

func TestParseContentRange(t *testing.T) {
	for _, c := range []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes */200", -1, 200, true},
		{"bytes 0-9/*", 0, -1, true},
		{"items 0-9/10", 0, 0, false},
		{"bytes x-9/10", 0, 0, false},
	} {
		s, tot, ok := parseContentRange(c.in)
		if s != c.start || tot != c.total || ok != c.ok {
			t.Errorf("%q: %d %d %v", c.in, s, tot, ok)
		}
	}
}

// A .part that is already complete (the server answers 416) is verified and
// moved into place; a final file with a wrong digest is replaced.
func TestFetchCompletePartAndWrongFinal(t *testing.T) {
	needRefData(t)
	srv := newRefServer(t, nil)
	dest := t.TempDir()
	relA := "hf-glue/wnli/test-00000-of-00001.parquet"
	relB := "hf-glue/wnli/validation-00000-of-00001.parquet"
	os.MkdirAll(filepath.Join(dest, "hf-glue/wnli"), 0o755)
	full, _ := os.ReadFile(filepath.Join(refDataDir, relA))
	os.WriteFile(filepath.Join(dest, relA+".part"), full, 0o644)
	os.WriteFile(filepath.Join(dest, relB), []byte("not a parquet file"), 0o644)
	rep, err := Fetch(context.Background(), Manifest(), Options{Dest: dest, Mirror: srv.URL, Only: []string{relA, relB}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Downloaded) != 2 || len(rep.Resumed) != 1 || rep.Resumed[0] != relA {
		t.Errorf("report %+v", rep)
	}
	assertSameAsRef(t, dest, relA)
	assertSameAsRef(t, dest, relB)
}
