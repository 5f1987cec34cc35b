package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cyphertalk/cyphertalk-go"

// sharedEngines are the packages under baselines/ that several methods share; every other package there is (part
// of) one method.
var sharedEngines = []string{"accountant", "ckks", "mpc", "cryptofriendly", "cryptorun"}

// pkg is one package of the graph: its import path and every package it depends on, directly or not.
type pkg struct {
	ImportPath string
	Deps       []string
}

// rel is an import path relative to the module ("" for a path outside it).
func rel(path string) string {
	if path == module {
		return "."
	}
	r, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return ""
	}
	return r
}

func under(r, dir string) bool { return r == dir || strings.HasPrefix(r, dir+"/") }

// methodOf is the baseline method package r belongs to ("baselines/<name>" or, below a shared engine,
// "baselines/<engine>/<name>"), or "" when r is a shared engine or outside baselines/.
func methodOf(r string) string {
	parts := strings.Split(r, "/")
	if len(parts) < 2 || parts[0] != "baselines" {
		return ""
	}
	if slices.Contains(sharedEngines, parts[1]) {
		if len(parts) >= 3 && !isEngineInternal(parts[1], parts[2]) {
			return strings.Join(parts[:3], "/")
		}
		return ""
	}
	return strings.Join(parts[:2], "/")
}

// isEngineInternal reports whether baselines/<engine>/<sub> is part of the shared engine rather than a method
// built on it: the method packages below engines are named "<engine>method".
func isEngineInternal(engine, sub string) bool { return sub != engine+"method" }

// violations checks the import rules on a package graph and returns one line per broken rule.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		r := rel(p.ImportPath)
		if r == "" {
			continue
		}
		for _, d := range p.Deps {
			dr := rel(d)
			switch {
			case under(r, "baselines") && dr != "" && under(dr, "shaking"):
				out = append(out, fmt.Sprintf("%s depends on %s: a baseline must not depend on the method it is compared against (share experiments/harness instead)", r, dr))
			case methodOf(r) != "" && methodOf(dr) != "" && methodOf(dr) != methodOf(r):
				out = append(out, fmt.Sprintf("%s depends on %s: baseline methods share engines, not each other's method packages", r, dr))
			case r == "experiments/method" && strings.HasPrefix(d, "github.com/gomlx/"):
				out = append(out, fmt.Sprintf("%s depends on %s: the runner's method interface must not pull in gomlx", r, d))
			case under(r, "attacks") && dr != "" && (under(dr, "shaking") || under(dr, "baselines")):
				out = append(out, fmt.Sprintf("%s depends on %s: the attacks must not depend on the methods they attack", r, dr))
			}
		}
	}
	return out
}

// packageGraph lists every package of the module with its dependencies (`go list -e -deps`, tests' imports left
// out: the rules are about what the packages themselves link).
func packageGraph(t *testing.T) []pkg {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on $PATH to list the package graph")
	}
	cmd := exec.Command(goTool, "list", "-e", "-json=ImportPath,Deps", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list's output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	pkgs := packageGraph(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[rel(p.ImportPath)] = true
	}
	// The rules only mean something while the packages they name exist.
	for _, r := range []string{"shaking", "experiments/method", "experiments/harness", "attacks", "baselines/plaintext", "baselines/dpsgd"} {
		if !seen[r] {
			t.Fatalf("go list did not report %s: the rules below would hold vacuously", r)
		}
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestViolationsCatchesEachRule feeds a graph that breaks every rule once, and one that keeps them all.
func TestViolationsCatchesEachRule(t *testing.T) {
	m := func(r string) string { return module + "/" + r }
	bad := []pkg{
		{m("baselines/dpsgd"), []string{m("experiments/harness"), m("shaking")}},
		{m("baselines/dxtext"), []string{m("baselines/plaintext")}},
		{m("baselines/mpc/mpcmethod"), []string{m("baselines/ckks/ckksmethod")}},
		{m("experiments/method"), []string{"github.com/gomlx/gomlx/pkg/core/graph"}},
		{m("attacks"), []string{m("baselines/dpforward")}},
		{m("attacks"), []string{m("shaking")}},
	}
	got := violations(bad)
	if len(got) != len(bad) {
		t.Fatalf("%d violations for %d broken rules:\n%s", len(got), len(bad), strings.Join(got, "\n"))
	}
	good := []pkg{
		{m("baselines/dpsgd"), []string{m("experiments/harness"), m("baselines/accountant"), "github.com/gomlx/gomlx/pkg/core/graph"}},
		{m("baselines/ckks/ckksmethod"), []string{m("baselines/ckks"), m("baselines/cryptorun"), m("baselines/cryptofriendly")}},
		{m("baselines/mpc/mpcmethod"), []string{m("baselines/mpc"), m("baselines/cryptorun")}},
		{m("baselines/cryptofriendly/measure"), []string{m("baselines/cryptofriendly")}},
		{m("shaking"), []string{m("attacks"), m("experiments/harness")}},
		{m("cmd/cyphertalk"), []string{m("shaking"), m("baselines/plaintext"), m("baselines/dpsgd")}},
		{m("experiments/method"), []string{"math"}},
	}
	if got := violations(good); len(got) != 0 {
		t.Errorf("violations in a graph that keeps the rules:\n%s", strings.Join(got, "\n"))
	}
}
