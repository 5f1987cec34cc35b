package recipecache

import (
	"bytes"
	stdctx "context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

type recipe struct {
	Steps int
	Seed  uint64
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// writer builds an entry of two files whose content depends on tag, counting its calls.
func writer(calls *atomic.Int32, tag string) BuildFunc {
	return func(_ stdctx.Context, dir string) error {
		calls.Add(1)
		if err := os.WriteFile(filepath.Join(dir, "model.bin"), []byte("weights "+tag), 0o644); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "sub", "result.json"), []byte(`{"tag":"`+tag+`"}`), 0o644)
	}
}

// TestHashMatchesHandMadeStruct: the key of a recipe with a version is the SHA-256 of the struct with a leading
// Format field, the way the caches before this package hashed their recipes (so their directories stay).
func TestHashMatchesHandMadeStruct(t *testing.T) {
	k := Key{Kind: "pretrain", Name: "nano", Version: "pretrain/1", Recipe: struct {
		C      recipe
		Corpus string
	}{recipe{4, 1}, "abc"}}
	old, _ := json.Marshal(struct {
		Format string
		C      recipe
		Corpus string
	}{"pretrain/1", recipe{4, 1}, "abc"})
	sum := sha256.Sum256(old)
	got, err := k.Hash()
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("hash %s, want the hand-made struct's %s", got, want)
	}
	c := New("/cache", nil)
	if p, _ := c.Path(k); p != filepath.Join("/cache", "pretrain", "nano-"+got[:16]) {
		t.Errorf("path %s", p)
	}
	empty, _ := Key{Kind: "x", Version: "x/1", Recipe: struct{}{}}.Document()
	if string(empty) != `{"Format":"x/1"}` {
		t.Errorf("empty recipe document %s", empty)
	}
	for _, bad := range []Key{{Kind: "x", Version: "1", Recipe: 3}, {Kind: "", Version: "1", Recipe: recipe{}},
		{Kind: "x", Recipe: recipe{}}, {Kind: "x", Name: "../up", Version: "1", Recipe: recipe{}}} {
		if _, err := bad.Hash(); err == nil {
			t.Errorf("key %+v accepted", bad)
		}
	}
}

// TestDifferentRecipesDifferentDirs: another recipe or version is another entry; the same one is served from the
// cache without building.
func TestDifferentRecipesDifferentDirs(t *testing.T) {
	c := New(t.TempDir(), quiet())
	var calls atomic.Int32
	ctx := stdctx.Background()
	a, err := c.GetOrBuild(ctx, Key{Kind: "k", Name: "n", Version: "v1", Recipe: recipe{1, 1}}, Options{}, writer(&calls, "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.GetOrBuild(ctx, Key{Kind: "k", Name: "n", Version: "v1", Recipe: recipe{1, 2}}, Options{}, writer(&calls, "b"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.GetOrBuild(ctx, Key{Kind: "k", Name: "n", Version: "v2", Recipe: recipe{1, 1}}, Options{}, writer(&calls, "v"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Dir == b.Dir || a.Dir == v.Dir || !a.Built || !b.Built || !v.Built || calls.Load() != 3 {
		t.Fatalf("dirs %s %s %s, built %v %v %v, %d builds", a.Dir, b.Dir, v.Dir, a.Built, b.Built, v.Built, calls.Load())
	}
	again, err := c.GetOrBuild(ctx, Key{Kind: "k", Name: "n", Version: "v1", Recipe: recipe{1, 1}}, Options{}, writer(&calls, "again"))
	if err != nil {
		t.Fatal(err)
	}
	if again.Built || again.Dir != a.Dir || calls.Load() != 3 {
		t.Fatalf("same recipe rebuilt: built %v dir %s, %d builds", again.Built, again.Dir, calls.Load())
	}
	if got, _ := os.ReadFile(filepath.Join(a.Dir, "model.bin")); string(got) != "weights a" {
		t.Errorf("entry a holds %q", got)
	}
	if len(again.Manifest.Files) != 2 || !strings.Contains(string(again.Manifest.Recipe), `"Seed": 1`) {
		t.Errorf("manifest %+v", again.Manifest)
	}
	leftovers, _ := filepath.Glob(filepath.Join(c.Dir, "k", ".*.build"))
	if len(leftovers) != 0 {
		t.Errorf("build directories left: %v", leftovers)
	}
}

// TestCorruptEntryRebuilt: a changed, a missing and an extra file are each detected on open; the entry is moved
// aside and built again.
func TestCorruptEntryRebuilt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(dir string) error
	}{
		{"changed", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "model.bin"), []byte("weights X"), 0o644)
		}},
		{"missing", func(dir string) error { return os.Remove(filepath.Join(dir, "sub", "result.json")) }},
		{"extra", func(dir string) error { return os.WriteFile(filepath.Join(dir, "stray"), nil, 0o644) }},
		{"manifest", func(dir string) error { return os.WriteFile(filepath.Join(dir, ManifestFile), []byte("{"), 0o644) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			c := New(t.TempDir(), slog.New(slog.NewTextHandler(&logs, nil)))
			k := Key{Kind: "k", Name: "n", Version: "v1", Recipe: recipe{2, 3}}
			var calls atomic.Int32
			e, err := c.GetOrBuild(stdctx.Background(), k, Options{}, writer(&calls, "a"))
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(e.Dir); err != nil {
				t.Fatal(err)
			}
			again, err := c.GetOrBuild(stdctx.Background(), k, Options{}, writer(&calls, "a"))
			if err != nil {
				t.Fatal(err)
			}
			if !again.Built || calls.Load() != 2 {
				t.Fatalf("damaged entry not rebuilt: built %v, %d builds", again.Built, calls.Load())
			}
			if _, err := verify(again.Dir, again.Manifest.Key); err != nil {
				t.Fatalf("rebuilt entry does not verify: %v", err)
			}
			if got, _ := os.ReadFile(filepath.Join(again.Dir, "model.bin")); string(got) != "weights a" {
				t.Errorf("rebuilt entry holds %q", got)
			}
			if _, err := os.Stat(filepath.Join(c.Dir, "k", "."+filepath.Base(e.Dir)+".corrupt")); err != nil {
				t.Errorf("damaged entry not moved aside: %v", err)
			}
			if !strings.Contains(logs.String(), "corrupt") {
				t.Errorf("no warning logged: %s", logs.String())
			}
		})
	}
}

// TestConcurrentBuildersOneEntry: goroutines asking for the same entry at once get one valid entry, built once.
func TestConcurrentBuildersOneEntry(t *testing.T) {
	c := New(t.TempDir(), quiet())
	k := Key{Kind: "k", Name: "n", Version: "v1", Recipe: recipe{5, 5}}
	var calls atomic.Int32
	build := func(ctx stdctx.Context, dir string) error {
		// Write slowly, in pieces, so an unprotected second builder would interleave with this one.
		for i := range 5 {
			f, err := os.OpenFile(filepath.Join(dir, "model.bin"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			_, _ = f.WriteString(strings.Repeat(string(rune('a'+i)), 100))
			_ = f.Close()
		}
		calls.Add(1)
		return nil
	}
	const n = 8
	var wg sync.WaitGroup
	entries := make([]*Entry, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { entries[i], errs[i] = c.GetOrBuild(stdctx.Background(), k, Options{}, build) })
	}
	wg.Wait()
	built := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if entries[i].Built {
			built++
		}
		if entries[i].Dir != entries[0].Dir {
			t.Fatalf("entries in %s and %s", entries[i].Dir, entries[0].Dir)
		}
	}
	if built != 1 || calls.Load() != 1 {
		t.Errorf("%d callers built, %d builds ran; want 1", built, calls.Load())
	}
	if _, err := verify(entries[0].Dir, entries[0].Manifest.Key); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(entries[0].Dir, "model.bin")); len(b) != 500 {
		t.Errorf("model.bin has %d bytes, want 500", len(b))
	}
}

// TestFailedBuildResumesOrClears: a failed build leaves nothing at the entry; with Resume its directory (and the
// build's own checkpoint) is there for the next build, without Resume it is removed.
func TestFailedBuildResumesOrClears(t *testing.T) {
	for _, resume := range []bool{true, false} {
		c := New(t.TempDir(), quiet())
		k := Key{Kind: "k", Version: "v1", Recipe: recipe{}}
		boom := errors.New("interrupted")
		_, err := c.GetOrBuild(stdctx.Background(), k, Options{Resume: resume}, func(_ stdctx.Context, dir string) error {
			_ = os.WriteFile(filepath.Join(dir, "partial.json"), []byte("4"), 0o644)
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("error %v", err)
		}
		p, _ := c.Path(k)
		if _, err := os.Stat(p); err == nil {
			t.Fatal("a failed build left an entry")
		}
		var sawCheckpoint bool
		e, err := c.GetOrBuild(stdctx.Background(), k, Options{Resume: resume}, func(_ stdctx.Context, dir string) error {
			if _, err := os.Stat(filepath.Join(dir, "partial.json")); err == nil {
				sawCheckpoint = true
				_ = os.Remove(filepath.Join(dir, "partial.json"))
			}
			return os.WriteFile(filepath.Join(dir, "model.bin"), []byte("w"), 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
		if sawCheckpoint != resume || len(e.Manifest.Files) != 1 {
			t.Errorf("resume %v: second build saw the checkpoint %v, files %v", resume, sawCheckpoint, e.Manifest.Files)
		}
	}
}

// TestLegacyEntryMigrated: an entry without a manifest that the kind accepts is kept in place and given one; one
// it rejects is a partial build to continue (Resume) or corrupt.
func TestLegacyEntryMigrated(t *testing.T) {
	c := New(t.TempDir(), quiet())
	k := Key{Kind: "k", Name: "n", Version: "v1", Recipe: recipe{7, 7}}
	p, _ := c.Path(k)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(p, "result.json"), []byte("{}"), 0o644)
	accept := func(dir string) error {
		if _, err := os.Stat(filepath.Join(dir, "result.json")); err != nil {
			return err
		}
		return nil
	}
	var calls atomic.Int32
	e, err := c.GetOrBuild(stdctx.Background(), k, Options{Legacy: accept}, writer(&calls, "new"))
	if err != nil {
		t.Fatal(err)
	}
	if !e.Migrated || e.Built || calls.Load() != 0 || e.Dir != p {
		t.Fatalf("legacy entry not adopted: %+v, %d builds", e, calls.Load())
	}
	if e2, err := c.GetOrBuild(stdctx.Background(), k, Options{Legacy: accept}, writer(&calls, "new")); err != nil || e2.Migrated || e2.Built {
		t.Fatalf("adopted entry not served as a normal one: %+v %v", e2, err)
	}

	// A legacy directory holding only a checkpoint: with Resume the build continues from it.
	k2 := Key{Kind: "k", Name: "n", Version: "v1", Recipe: recipe{8, 8}}
	p2, _ := c.Path(k2)
	_ = os.MkdirAll(p2, 0o755)
	_ = os.WriteFile(filepath.Join(p2, "partial.json"), []byte("4"), 0o644)
	var resumed bool
	e, err = c.GetOrBuild(stdctx.Background(), k2, Options{Legacy: accept, Resume: true}, func(_ stdctx.Context, dir string) error {
		if _, err := os.Stat(filepath.Join(dir, "partial.json")); err == nil {
			resumed = true
			_ = os.Remove(filepath.Join(dir, "partial.json"))
		}
		return os.WriteFile(filepath.Join(dir, "result.json"), []byte("{}"), 0o644)
	})
	if err != nil || !resumed || !e.Built {
		t.Fatalf("legacy checkpoint not resumed: resumed %v, entry %+v, err %v", resumed, e, err)
	}
}

// TestNoCacheDirBuildsEachTime: with Dir "" every call builds into its own temporary directory.
func TestNoCacheDirBuildsEachTime(t *testing.T) {
	c := New("", quiet())
	var calls atomic.Int32
	k := Key{Kind: "k", Version: "v1", Recipe: recipe{}}
	a, err := c.GetOrBuild(stdctx.Background(), k, Options{}, writer(&calls, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(a.Dir)
	b, err := c.GetOrBuild(stdctx.Background(), k, Options{}, writer(&calls, "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(b.Dir)
	if a.Dir == b.Dir || calls.Load() != 2 || !a.Built || !b.Built {
		t.Fatalf("dirs %s %s, %d builds", a.Dir, b.Dir, calls.Load())
	}
}

// TestShippedEntryCopiedNotBuilt: a shipped copy of the entry (as committed with the source) is copied into the
// cache instead of building; a shipped copy of another recipe, or one with a changed file, is not used.
func TestShippedEntryCopiedNotBuilt(t *testing.T) {
	k := Key{Kind: "pretrain", Name: "nano", Version: "v", Recipe: recipe{Steps: 3, Seed: 1}}
	other := Key{Kind: "pretrain", Name: "nano", Version: "v", Recipe: recipe{Steps: 4, Seed: 1}}
	// Build the shipped copy in a cache of its own: that is how a shipped entry is made.
	shipped := t.TempDir()
	var calls atomic.Int32
	src, err := New(shipped, quiet()).GetOrBuild(stdctx.Background(), k, Options{}, writer(&calls, "shipped"))
	if err != nil {
		t.Fatal(err)
	}
	c := New(t.TempDir(), quiet())
	e, err := c.GetOrBuild(stdctx.Background(), k, Options{Shipped: []string{t.TempDir(), shipped}}, writer(&calls, "built"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Built || e.Shipped != src.Dir || calls.Load() != 1 {
		t.Fatalf("entry built=%v shipped=%q after %d builds; want the shipped copy %s, no build", e.Built, e.Shipped, calls.Load(), src.Dir)
	}
	if b, _ := os.ReadFile(filepath.Join(e.Dir, "model.bin")); string(b) != "weights shipped" {
		t.Fatalf("cache holds %q, want the shipped weights", b)
	}
	// Reopening finds it in the cache.
	if e, err = c.GetOrBuild(stdctx.Background(), k, Options{}, writer(&calls, "built")); err != nil || e.Built || e.Shipped != "" {
		t.Fatalf("reopened: %+v, %v", e, err)
	}
	// Another recipe does not take it (its directory name differs), and a tampered copy is refused.
	if e, err = New(t.TempDir(), quiet()).GetOrBuild(stdctx.Background(), other, Options{Shipped: []string{shipped}}, writer(&calls, "other")); err != nil || !e.Built {
		t.Fatalf("other recipe: %+v, %v; want a build", e, err)
	}
	if err := os.WriteFile(filepath.Join(src.Dir, "model.bin"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err = New(t.TempDir(), quiet()).GetOrBuild(stdctx.Background(), k, Options{Shipped: []string{shipped}}, writer(&calls, "rebuilt"))
	if err != nil || !e.Built || e.Shipped != "" {
		t.Fatalf("tampered shipped copy: %+v, %v; want a build", e, err)
	}
}

// TestShipCopiesAVerifiedEntry: Ship puts a copy where Options.Shipped finds it, and refuses an entry whose files
// no longer match its manifest.
func TestShipCopiesAVerifiedEntry(t *testing.T) {
	k := Key{Kind: "pretrain", Name: "nano", Version: "v", Recipe: recipe{Steps: 5, Seed: 1}}
	var calls atomic.Int32
	e, err := New(t.TempDir(), quiet()).GetOrBuild(stdctx.Background(), k, Options{}, writer(&calls, "made"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dst, err := Ship(e.Dir, root)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "pretrain", filepath.Base(e.Dir)); dst != want {
		t.Fatalf("shipped to %s, want %s", dst, want)
	}
	got, err := New(t.TempDir(), quiet()).GetOrBuild(stdctx.Background(), k, Options{Shipped: []string{root}}, writer(&calls, "built"))
	if err != nil || got.Shipped != dst || calls.Load() != 1 {
		t.Fatalf("using the shipped copy: %+v, %v, %d builds", got, err, calls.Load())
	}
	if err := os.WriteFile(filepath.Join(e.Dir, "model.bin"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Ship(e.Dir, t.TempDir()); err == nil || !strings.Contains(err.Error(), "model.bin") {
		t.Fatalf("shipping a changed entry: err = %v, want one naming model.bin", err)
	}
}
