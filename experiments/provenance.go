package experiments

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cyphertalk/cyphertalk-go/models/backend"
)

// Provenance is where and with what a run was measured.
type Provenance struct {
	Backend   string
	GoVersion string
	// GitCommit is the commit the code was built from ("unknown" where neither the binary nor a checkout says),
	// GitDirty whether tracked files had uncommitted changes.
	GitCommit string
	GitDirty  bool
	Host      string
}

// UnknownCommit is Provenance.GitCommit where no commit is known.
const UnknownCommit = "unknown"

// modulePath is this module's path: a checkout is used for provenance only if its go.mod declares it, so a run
// started inside some other repository does not record that repository's commit.
const modulePath = "github.com/cyphertalk/cyphertalk-go"

// buildCommit and buildDirty are set at link time by the Makefile's build
// (-ldflags "-X github.com/cyphertalk/cyphertalk-go/experiments.buildCommit=<sha> -X ...buildDirty=true"), which
// works whatever GOFLAGS says about -buildvcs.
var buildCommit, buildDirty string

// CurrentProvenance describes this process: the gomlx backend configuration, the Go version, the git commit
// and dirty flag (GitState) and the host name.
func CurrentProvenance() Provenance {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	commit, dirty := GitState()
	return Provenance{Backend: backend.Config(), GoVersion: runtime.Version(), GitCommit: commit, GitDirty: dirty, Host: host}
}

// GitState is the commit this code was built from and whether tracked files had uncommitted changes, from the
// first source that knows: the commit the Makefile linked in; the Go toolchain's VCS stamp (vcs.revision,
// vcs.modified; absent under go run, go test and -buildvcs=false, which some environments set in GOFLAGS); the
// git checkout of this module that holds the working directory, else the one that holds the executable (a run
// started outside the checkout with bin/cyphertalk), asked with git, or read from .git where git is missing or
// refuses (dirty is then false: it cannot be told without git). UnknownCommit, false where none does.
func GitState() (commit string, dirty bool) {
	if buildCommit != "" {
		return buildCommit, buildDirty == "true"
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		if c, d := vcsStamp(info); c != "" {
			return c, d
		}
	}
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		dirs = append(dirs, filepath.Dir(exe))
	}
	return checkoutState(dirs)
}

// vcsStamp reads the toolchain's VCS stamp ("" when the binary has none).
func vcsStamp(info *debug.BuildInfo) (commit string, dirty bool) {
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	return commit, dirty
}

// checkoutState is the state of the first of dirs that lies in a checkout of this module.
func checkoutState(dirs []string) (commit string, dirty bool) {
	for _, dir := range dirs {
		root := checkoutRoot(dir)
		if root == "" {
			continue
		}
		if c, d, err := askGit(root); err == nil {
			return c, d
		}
		if c, err := readHead(root); err == nil {
			return c, false
		}
	}
	return UnknownCommit, false
}

// checkoutRoot is the nearest directory at or above dir that has both a .git and a go.mod declaring this module
// ("" if none).
func checkoutRoot(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil && declaresModule(filepath.Join(dir, "go.mod")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func declaresModule(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}

// askGit asks git for HEAD and for uncommitted changes to tracked files. safe.directory is lifted for this one
// read-only call, so a checkout owned by another user (a shared cluster directory) still answers.
func askGit(root string) (commit string, dirty bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	git := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "safe.directory=*", "-C", root}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0") // never take the index lock of a running checkout
		return cmd.Output()
	}
	out, err := git("rev-parse", "--verify", "HEAD")
	if err != nil {
		return "", false, err
	}
	commit = strings.TrimSpace(string(out))
	status, err := git("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return "", false, err
	}
	return commit, len(bytes.TrimSpace(status)) > 0, nil
}

// readHead resolves HEAD from the files under root/.git (a directory, or a "gitdir:" file of a worktree or
// submodule): a detached commit, a loose ref, or a packed one.
func readHead(root string) (string, error) {
	gitDir := filepath.Join(root, ".git")
	if st, err := os.Stat(gitDir); err == nil && !st.IsDir() {
		b, err := os.ReadFile(gitDir)
		if err != nil {
			return "", err
		}
		target, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
		if !ok {
			return "", errors.New(".git is neither a directory nor a gitdir file")
		}
		gitDir = strings.TrimSpace(target)
		if !filepath.IsAbs(gitDir) {
			gitDir = filepath.Join(root, gitDir)
		}
	}
	// Refs live in the common directory of a linked worktree; HEAD in its own.
	common := gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common = strings.TrimSpace(string(b))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitDir, common)
		}
	}
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return "", err
	}
	head := strings.TrimSpace(string(b))
	for range 10 { // symbolic refs, followed a few levels
		ref, symbolic := strings.CutPrefix(head, "ref:")
		if !symbolic {
			if isCommitHash(head) {
				return head, nil
			}
			return "", errors.New("HEAD is not a commit")
		}
		ref = strings.TrimSpace(ref)
		if b, err := os.ReadFile(filepath.Join(gitDir, filepath.FromSlash(ref))); err == nil {
			head = strings.TrimSpace(string(b))
			continue
		}
		if b, err := os.ReadFile(filepath.Join(common, filepath.FromSlash(ref))); err == nil {
			head = strings.TrimSpace(string(b))
			continue
		}
		packed, err := os.ReadFile(filepath.Join(common, "packed-refs"))
		if err != nil {
			return "", errors.New("ref " + ref + " not found")
		}
		head = ""
		for _, line := range strings.Split(string(packed), "\n") {
			if sha, name, ok := strings.Cut(strings.TrimSpace(line), " "); ok && name == ref {
				head = sha
				break
			}
		}
		if head == "" {
			return "", errors.New("ref " + ref + " not found")
		}
	}
	if isCommitHash(head) {
		return head, nil
	}
	return "", errors.New("HEAD does not resolve to a commit")
}

func isCommitHash(s string) bool {
	if len(s) != 40 && len(s) != 64 { // SHA-1 or SHA-256 repositories
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
