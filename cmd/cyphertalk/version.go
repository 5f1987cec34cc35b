package main

import "github.com/cyphertalk/cyphertalk-go/experiments"

// Version is the release of this command line; `cyphertalk --version` prints it with the git commit the
// binary was built from.
const Version = "0.3.0"

// versionTemplate is cobra's --version output: "cyphertalk 0.3.0 (commit 28c7a81, dirty)".
const versionTemplate = "{{.Name}} {{.Version}}\n"

// buildVersion is Version plus the commit the binary was built from, shortened to 7 digits, with ", dirty"
// where tracked files had uncommitted changes, or "commit unknown" where commit is "".
func buildVersion(commit string, dirty bool) string {
	if commit == "" || commit == experiments.UnknownCommit {
		return Version + " (commit unknown)"
	}
	if len(commit) > 7 {
		commit = commit[:7]
	}
	if dirty {
		return Version + " (commit " + commit + ", dirty)"
	}
	return Version + " (commit " + commit + ")"
}

// versionString is buildVersion of this binary: the commit fixed when it was built (experiments.BuildStamp: the
// Makefile's linked-in commit, else the toolchain's vcs.revision and vcs.modified), never the checkout it runs in.
func versionString() string { return buildVersion(experiments.BuildStamp()) }
