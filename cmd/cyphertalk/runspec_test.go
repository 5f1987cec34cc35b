package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/experiments"
)

// TestSpecTextIsWhatTheSpecWasReadFrom: the runner keeps the text of the spec a run command loaded (an embedded
// spec's or the file's) as RESULTS/<experiment>/spec.toml.
func TestSpecTextIsWhatTheSpecWasReadFrom(t *testing.T) {
	spec, err := experiments.Load("smoke")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := experiments.Embedded("smoke")
	if got, err := specText(spec); err != nil || string(got) != string(want) {
		t.Errorf("embedded spec: %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	path := filepath.Join(t.TempDir(), "mine.toml")
	if err := os.WriteFile(path, append(want, "# local copy\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if spec, err = experiments.Load(path); err != nil {
		t.Fatal(err)
	}
	if got, err := specText(spec); err != nil || string(got) != string(want)+"# local copy\n" {
		t.Errorf("spec file: %q, %v", got, err)
	}
}
