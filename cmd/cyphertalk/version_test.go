package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	rev := "28c7a81f0e2b4c9a7d5e3f1a0b9c8d7e6f5a4b3c"
	for _, tc := range []struct {
		commit string
		dirty  bool
		want   string
	}{
		{rev, true, Version + " (commit 28c7a81, dirty)"},
		{rev, false, Version + " (commit 28c7a81)"},
		{"28c7a", false, Version + " (commit 28c7a)"},
		{"", true, Version + " (commit unknown)"},
		{"unknown", false, Version + " (commit unknown)"},
	} {
		if got := buildVersion(tc.commit, tc.dirty); got != tc.want {
			t.Errorf("buildVersion(%q, %v) = %q, want %q", tc.commit, tc.dirty, got, tc.want)
		}
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(Version) {
		t.Errorf("Version %q is not MAJOR.MINOR.PATCH", Version)
	}
}

func TestVersionFlag(t *testing.T) {
	out, err := run(t, "--version")
	if err != nil {
		t.Fatal(err)
	}
	if want := "cyphertalk " + versionString() + "\n"; out != want {
		t.Errorf("--version printed %q, want %q", out, want)
	}
	if !regexp.MustCompile(`^cyphertalk \d+\.\d+\.\d+ \(commit ([0-9a-f]{7}(, dirty)?|unknown)\)\n$`).MatchString(out) {
		t.Errorf("--version printed %q", out)
	}
	// -v stays --verbose.
	root := newRoot()
	if f := root.PersistentFlags().ShorthandLookup("v"); f == nil || f.Name != "verbose" {
		t.Errorf("-v is %v, want --verbose", f)
	}
}

// TestVersionOfBuiltBinary builds the command twice and checks --version: with the toolchain's VCS stamp it
// names the commit checked out here; with the Makefile's linked-in commit it names that one.
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("no git checkout: %v", err)
	}
	version := func(args ...string) string {
		t.Helper()
		bin := filepath.Join(t.TempDir(), "cyphertalk")
		build := exec.Command("go", append(append([]string{"build", "-o", bin}, args...), ".")...)
		if out, err := build.CombinedOutput(); err != nil {
			if strings.Contains(string(out), "VCS status") {
				t.Skipf("go cannot stamp VCS information here: %s", out)
			}
			t.Fatalf("go build %v: %v\n%s", args, err, out)
		}
		out, err := exec.Command(bin, "--version").Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	linked := "0123456789abcdef0123456789abcdef01234567"
	if got, want := version("-buildvcs=false", "-ldflags", "-X github.com/cyphertalk/cyphertalk-go/experiments.buildCommit="+linked+
		" -X github.com/cyphertalk/cyphertalk-go/experiments.buildDirty=true"), "cyphertalk "+Version+" (commit 0123456, dirty)\n"; got != want {
		t.Errorf("linked-in commit: --version printed %q, want %q", got, want)
	}
	if got, want := version("-buildvcs=true"), "cyphertalk "+Version+" (commit "+strings.TrimSpace(string(head))[:7]; !strings.HasPrefix(got, want) {
		t.Errorf("VCS stamp: --version printed %q, want it to start with %q", got, want)
	}
}
