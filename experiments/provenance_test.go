package experiments

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitRepo makes a committed git repository whose go.mod declares module, and returns its root and HEAD.
func gitRepo(t *testing.T, module string) (root, head string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root = t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+module+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "sub", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sub", "tracked.txt"), []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "first"}} {
		git(t, root, args...)
	}
	return root, git(t, root, "rev-parse", "HEAD")
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestGitStateOfTheCheckoutHoldingTheWorkingDirectory(t *testing.T) {
	root, head := gitRepo(t, modulePath)
	t.Chdir(filepath.Join(root, "sub", "dir")) // started below the root: the checkout is found upwards
	if c, dirty := GitState(); c != head || dirty {
		t.Fatalf("GitState() = %q, %v; want %q, clean", c, dirty, head)
	}
	// An untracked file does not make the tree dirty; a changed tracked file does.
	if err := os.WriteFile(filepath.Join(root, "untracked.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, dirty := GitState(); c != head || dirty {
		t.Errorf("with an untracked file: %q, %v; want clean", c, dirty)
	}
	if err := os.WriteFile(filepath.Join(root, "sub", "tracked.txt"), []byte("two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, dirty := GitState(); c != head || !dirty {
		t.Errorf("with a modified tracked file: %q, %v; want dirty", c, dirty)
	}
	// The provenance a runner records carries both.
	if p := CurrentProvenance(); p.GitCommit != head || !p.GitDirty || p.Host == "" || p.GoVersion == "" {
		t.Errorf("CurrentProvenance() = %+v", p)
	}
}

func TestGitStateIsUnknownOutsideAnyCheckoutOfThisModule(t *testing.T) {
	other, _ := gitRepo(t, "example.org/someone-else")
	t.Chdir(other) // a run started inside another project's repository must not record its commit
	if c, dirty := GitState(); c != UnknownCommit || dirty {
		t.Errorf("in another module's checkout: %q, %v; want %q", c, dirty, UnknownCommit)
	}
	t.Chdir(t.TempDir())
	if c, dirty := GitState(); c != UnknownCommit || dirty {
		t.Errorf("outside any checkout: %q, %v; want %q", c, dirty, UnknownCommit)
	}
	// A checkout is still found from a later candidate directory (the executable's).
	root, head := gitRepo(t, modulePath)
	if c, _ := checkoutState([]string{t.TempDir(), filepath.Join(root, "sub")}); c != head {
		t.Errorf("checkoutState via the second directory = %q, want %q", c, head)
	}
}

func TestGitStatePrefersTheCommitLinkedIntoTheBinary(t *testing.T) {
	root, _ := gitRepo(t, modulePath)
	t.Chdir(root)
	buildCommit, buildDirty = "0123456789abcdef0123456789abcdef01234567", "true"
	defer func() { buildCommit, buildDirty = "", "" }()
	if c, dirty := GitState(); c != buildCommit || !dirty {
		t.Errorf("GitState() = %q, %v; want the linked commit, dirty", c, dirty)
	}
}

func TestHeadIsReadFromDotGitWithoutGit(t *testing.T) {
	root, head := gitRepo(t, modulePath)
	check := func(what, dir string) {
		t.Helper()
		if c, err := readHead(dir); err != nil || c != head {
			t.Errorf("%s: readHead = %q, %v; want %q", what, c, err, head)
		}
	}
	check("loose ref", root)
	git(t, root, "pack-refs", "--all", "--prune")
	check("packed ref", root)
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, root, "worktree", "add", "-q", "--detach", wt)
	check("linked worktree, detached", wt)
	git(t, root, "checkout", "-q", "--detach")
	check("detached HEAD", root)

	// git absent from PATH (or refusing): the commit still comes from .git, the dirty flag cannot be told.
	t.Setenv("PATH", t.TempDir())
	if c, dirty := checkoutState([]string{root}); c != head || dirty {
		t.Errorf("without git: %q, %v; want %q, false", c, dirty, head)
	}
	if _, err := readHead(t.TempDir()); err == nil {
		t.Error("readHead of a directory without .git succeeded")
	}
}
