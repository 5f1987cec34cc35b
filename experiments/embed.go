package experiments

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// DefaultSpec is the embedded spec `cyphertalk run` executes without an argument.
const DefaultSpec = "paper"

// EmbeddedSource prefixes Spec.Source for a spec read from the binary.
const EmbeddedSource = "embedded:"

//go:embed specs/*.toml
var embedded embed.FS

// EmbeddedNames lists the specs built into the binary (base, collapse, crypto, cyphertalk, dp, dpsgd, paper, privacy, quick, recovery, smoke), sorted.
func EmbeddedNames() []string {
	entries, _ := fs.ReadDir(embedded, "specs")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".toml"))
	}
	sort.Strings(names)
	return names
}

// Embedded returns the text of an embedded spec by name (with or without ".toml").
func Embedded(name string) ([]byte, error) {
	b, err := embedded.ReadFile(path.Join("specs", strings.TrimSuffix(name, ".toml")+".toml"))
	if err != nil {
		return nil, fmt.Errorf("no embedded spec %q (embedded: %s)", name, strings.Join(EmbeddedNames(), ", "))
	}
	return b, nil
}

// Load resolves a spec argument: "" is the default embedded spec; a bare name without ".toml" ("smoke") that an
// embedded spec has is that spec, even when the working directory holds a file of that name (the repository root
// holds the `cyphertalk` binary after `go build ./cmd/cyphertalk`; write ./NAME for a local file); otherwise an
// existing file is read, and a bare name ("quick.toml") not found as a file names an embedded spec.
func Load(arg string) (*Spec, error) {
	if arg == "" {
		arg = DefaultSpec
	}
	if !strings.ContainsRune(arg, '/') && !strings.HasSuffix(arg, ".toml") {
		if data, err := Embedded(arg); err == nil {
			return Parse(data, EmbeddedSource+arg+".toml")
		}
	}
	st, err := os.Stat(arg)
	switch {
	case err == nil && !st.IsDir():
		return LoadFile(arg)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("spec %s: %w", arg, err)
	}
	if strings.ContainsRune(arg, '/') {
		return nil, fmt.Errorf("spec file %s not found", arg)
	}
	data, err := Embedded(arg)
	if err != nil {
		return nil, fmt.Errorf("%s is neither a spec file nor an embedded spec: %w", arg, err)
	}
	return Parse(data, EmbeddedSource+strings.TrimSuffix(arg, ".toml")+".toml")
}
