// Package testdata locates the real public data for tests: $DATA_DIR when set, else the nearest shared/data
// folder above the working directory (CI lays ../shared/data beside the checkout).
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// marker is a file every usable data directory has.
var marker = filepath.Join("vocab", "bert-base-uncased", "vocab.txt")

// Dir returns the data directory and whether one was found.
func Dir() (string, bool) {
	if d := os.Getenv("DATA_DIR"); d != "" {
		_, err := os.Stat(filepath.Join(d, marker))
		return d, err == nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		cand := filepath.Join(dir, "shared", "data")
		if _, err := os.Stat(filepath.Join(cand, marker)); err == nil {
			return cand, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// DirOrSkip returns the data directory, or skips the test when there is none (a $DATA_DIR that is set but
// unusable fails the test instead: the caller asked for data).
func DirOrSkip(tb testing.TB) string {
	tb.Helper()
	d, ok := Dir()
	if !ok {
		if os.Getenv("DATA_DIR") != "" {
			tb.Fatalf("$DATA_DIR=%s has no %s", d, marker)
		}
		tb.Skip("no data directory (shared/data above the working directory, or $DATA_DIR)")
	}
	return d
}
