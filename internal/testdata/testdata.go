// Package testdata locates the real public data for tests. It looks, in order, at $DATA_DIR; the nearest
// shared/data folder above the working directory (CI lays ../shared/data beside the checkout); and ./data in
// the module root (the directory holding go.mod, found walking up), where `cyphertalk data fetch` puts it.
// A test that needs the data calls DirOrSkip: without data it is skipped on a developer's machine, but fails
// when $CI is set, so that a CI job without data can never pass by skipping.
package testdata

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// marker is a file every usable data directory has.
var marker = filepath.Join("vocab", "bert-base-uncased", "vocab.txt")

// Env names the environment variable that points at the data directory.
const Env = "DATA_DIR"

// CIEnv names the environment variable that, when set (to anything but "" or "false"/"0"), makes DirOrSkip
// fail instead of skip.
const CIEnv = "CI"

// Dir returns the data directory and whether one was found (see the package comment for where it looks).
// When $DATA_DIR is set it is the only candidate.
func Dir() (string, bool) {
	d, _, ok := find()
	return d, ok
}

// find returns the data directory, the places tried (for messages) and whether one was usable.
func find() (string, []string, bool) {
	if d := os.Getenv(Env); d != "" {
		return d, []string{"$" + Env + "=" + d}, usable(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", []string{"the working directory: " + err.Error()}, false
	}
	var tried []string
	for dir := wd; ; {
		cand := filepath.Join(dir, "shared", "data")
		if usable(cand) {
			return cand, nil, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	tried = append(tried, "shared/data in "+wd+" and every directory above it")
	if root, ok := moduleRoot(wd); ok {
		cand := filepath.Join(root, "data")
		if usable(cand) {
			return cand, nil, true
		}
		tried = append(tried, cand)
	} else {
		tried = append(tried, "./data in the module root (no go.mod above "+wd+")")
	}
	return "", tried, false
}

// moduleRoot walks up from dir to the nearest directory holding go.mod.
func moduleRoot(dir string) (string, bool) {
	for {
		if st, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !st.IsDir() {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func usable(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, marker))
	return err == nil && !st.IsDir()
}

// inCI reports whether $CI asks for data to be present.
func inCI() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(CIEnv))) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

// DirOrSkip returns the data directory. Without one it skips the test — or fails it when $CI is set, or when
// $DATA_DIR is set but holds no data (the caller asked for data).
func DirOrSkip(tb testing.TB) string {
	tb.Helper()
	d, tried, ok := find()
	if ok {
		return d
	}
	msg := fmt.Sprintf("no data directory with %s (tried %s); `cyphertalk data fetch` downloads it into ./data",
		marker, strings.Join(tried, "; "))
	if os.Getenv(Env) != "" || inCI() {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// FileOrSkip returns the path of rel (slash-separated) inside the data directory. A missing data directory or
// file skips the test, or fails it under the same conditions as DirOrSkip.
func FileOrSkip(tb testing.TB, rel string) string {
	tb.Helper()
	d := DirOrSkip(tb)
	p := filepath.Join(d, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("the data directory %s has no %s: %v", d, rel, err)
		if os.Getenv(Env) != "" || inCI() {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return p
}
