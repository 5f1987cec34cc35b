package testdata

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records how DirOrSkip ended; Fatal and Skip stop its goroutine as the real ones do.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Fatal(args ...any) { f.fatal = fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Skip(args ...any)  { f.skip = fmt.Sprint(args...); runtime.Goexit() }

// dirOrSkip runs DirOrSkip on a fake TB and returns its result and how it ended.
func dirOrSkip(t *testing.T) (dir string, f *fakeTB) {
	f = &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		dir = DirOrSkip(f)
	}()
	<-done
	return dir, f
}

// mkData makes a usable data directory at dir.
func mkData(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, marker)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("[PAD]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDirLookup(t *testing.T) {
	root := t.TempDir()
	t.Setenv(Env, "")
	t.Setenv(CIEnv, "")

	// ./data in the module root (go.mod found walking up from a package directory).
	mod := mkdir(t, filepath.Join(root, "checkout"))
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pkg := mkdir(t, filepath.Join(mod, "a", "b"))
	t.Chdir(pkg)
	if d, f := dirOrSkip(t); f.skip == "" || d != "" {
		t.Errorf("no data anywhere: got %q, skip %q fatal %q; want a skip", d, f.skip, f.fatal)
	} else if !strings.Contains(f.skip, filepath.Join(mod, "data")) {
		t.Errorf("skip message %q does not name %s", f.skip, filepath.Join(mod, "data"))
	}
	t.Setenv(CIEnv, "true")
	if _, f := dirOrSkip(t); f.fatal == "" || f.skip != "" {
		t.Errorf("no data with $CI set: skip %q fatal %q; want a failure", f.skip, f.fatal)
	}
	t.Setenv(CIEnv, "")

	want := mkData(t, filepath.Join(mod, "data"))
	if d, ok := Dir(); !ok || d != want {
		t.Errorf("module ./data: Dir() = %q, %v; want %q", d, ok, want)
	}
	if d, f := dirOrSkip(t); d != want || f.skip != "" || f.fatal != "" {
		t.Errorf("module ./data: DirOrSkip = %q (skip %q fatal %q)", d, f.skip, f.fatal)
	}

	// ../shared/data beside the checkout comes first.
	shared := mkData(t, filepath.Join(root, "shared", "data"))
	if d, ok := Dir(); !ok || d != shared {
		t.Errorf("shared/data: Dir() = %q, %v; want %q", d, ok, shared)
	}

	// $DATA_DIR overrides both, and a $DATA_DIR without data fails rather than skips.
	env := mkData(t, filepath.Join(root, "elsewhere"))
	t.Setenv(Env, env)
	if d, ok := Dir(); !ok || d != env {
		t.Errorf("$DATA_DIR: Dir() = %q, %v; want %q", d, ok, env)
	}
	t.Setenv(Env, mkdir(t, filepath.Join(root, "empty")))
	if _, f := dirOrSkip(t); f.fatal == "" || !strings.Contains(f.fatal, "DATA_DIR") {
		t.Errorf("empty $DATA_DIR: skip %q fatal %q; want a failure naming $DATA_DIR", f.skip, f.fatal)
	}
}

func TestFileOrSkip(t *testing.T) {
	root := mkData(t, t.TempDir())
	t.Setenv(Env, root)
	t.Setenv(CIEnv, "")
	f := &fakeTB{TB: t}
	if p := FileOrSkip(f, "vocab/bert-base-uncased/vocab.txt"); p != filepath.Join(root, marker) {
		t.Errorf("FileOrSkip = %q", p)
	}
	for _, ci := range []string{"", "1"} {
		t.Setenv(Env, "")
		t.Setenv(CIEnv, ci)
		t.Chdir(t.TempDir()) // no data directory at all
		f := &fakeTB{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); FileOrSkip(f, "corpus/brown.txt") }()
		<-done
		if (ci == "" && f.skip == "") || (ci != "" && f.fatal == "") {
			t.Errorf("CI=%q: skip %q fatal %q", ci, f.skip, f.fatal)
		}
	}
	t.Setenv(Env, root)
	t.Setenv(CIEnv, "")
	f = &fakeTB{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); FileOrSkip(f, "corpus/brown.txt") }()
	<-done
	if f.fatal == "" || !strings.Contains(f.fatal, "corpus/brown.txt") {
		t.Errorf("missing file under $DATA_DIR: skip %q fatal %q; want a failure naming the file", f.skip, f.fatal)
	}
}
