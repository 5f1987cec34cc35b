package experiments

import "runtime/debug"

// BuildStamp is the commit this binary was built from and whether tracked files had uncommitted changes, as
// fixed at build time only: the commit the Makefile linked in (buildCommit), else the Go toolchain's VCS stamp.
// Unlike GitState it never asks a checkout at run time; commit is "" where the binary carries neither.
func BuildStamp() (commit string, dirty bool) {
	if buildCommit != "" {
		return buildCommit, buildDirty == "true"
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		return vcsStamp(info)
	}
	return "", false
}
