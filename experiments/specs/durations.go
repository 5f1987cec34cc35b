// Package specs owns what the command line says about the embedded experiment specs (the *.toml files beside
// this file, which package experiments embeds and resolves): each spec's experiment and description, and how
// long the committed runs of it took. Those durations are measured, never typed: durations.json is generated
// (go generate) from the run records under measurements/<experiment>/runs/*.parquet, read with package
// results, and embedded here; a test checks that it is up to date with the records.
package specs

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

//go:generate go run ./gen -measurements ../../measurements -out durations.json

// DurationsFile is the generated file's name in this directory.
const DurationsFile = "durations.json"

//go:embed durations.json
var durationsJSON []byte

// Measured is what the committed records of one spec's experiment say: how many runs finished, the sum of their
// wall-clock durations, and the git commits (as recorded, "-dirty" included) the runs were made from.
type Measured struct {
	Runs         int      `json:"runs"`
	TotalSeconds float64  `json:"total_seconds"`
	GitCommits   []string `json:"git_commits"`
}

// Total is TotalSeconds as a duration.
func (m Measured) Total() time.Duration { return time.Duration(m.TotalSeconds * float64(time.Second)) }

// Info describes one embedded spec.
type Info struct {
	Name        string // the embedded spec's name, e.g. "smoke"
	Experiment  string // its experiment, the results (and measurements) sub-directory
	Description string
	// Measured is nil where the experiment has no committed records.
	Measured *Measured
}

// header is the part of a spec this package reads; the rest is package experiments' business.
type header struct {
	Experiment  string `toml:"experiment"`
	Description string `toml:"description"`
}

// experimentOf reads the experiment and description of an embedded spec.
func experimentOf(name string) (header, error) {
	data, err := experiments.Embedded(name)
	if err != nil {
		return header{}, err
	}
	var h header
	if _, err := toml.Decode(string(data), &h); err != nil {
		return header{}, fmt.Errorf("embedded spec %s: %w", name, err)
	}
	if h.Experiment == "" {
		return header{}, fmt.Errorf("embedded spec %s: no experiment", name)
	}
	return h, nil
}

// List describes every embedded spec, sorted by name, with the durations embedded in the binary.
func List() ([]Info, error) {
	measured := map[string]Measured{}
	if err := json.Unmarshal(durationsJSON, &measured); err != nil {
		return nil, fmt.Errorf("embedded %s: %w", DurationsFile, err)
	}
	var out []Info
	for _, name := range experiments.EmbeddedNames() {
		h, err := experimentOf(name)
		if err != nil {
			return nil, err
		}
		info := Info{Name: name, Experiment: h.Experiment, Description: h.Description}
		if m, ok := measured[name]; ok {
			info.Measured = &m
		}
		out = append(out, info)
	}
	return out, nil
}

// Generate measures every embedded spec whose experiment has records under measurementsDir
// (<measurementsDir>/<experiment>/runs/*.parquet) and returns the contents of durations.json: an object keyed
// by spec name, indented, keys sorted, total seconds rounded to 0.1 s, commits sorted.
func Generate(measurementsDir string) ([]byte, error) {
	if st, err := os.Stat(measurementsDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("measurements directory %s: not a directory (%v)", measurementsDir, err)
	}
	out := map[string]Measured{}
	for _, name := range experiments.EmbeddedNames() {
		h, err := experimentOf(name)
		if err != nil {
			return nil, err
		}
		m, err := measure(filepath.Join(measurementsDir, h.Experiment))
		if err != nil {
			return nil, fmt.Errorf("spec %s: %w", name, err)
		}
		if m.Runs > 0 {
			out[name] = m
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// measure reads the finished runs of one experiment directory (none when it does not exist).
func measure(expDir string) (Measured, error) {
	ids, err := results.RunIDs(expDir)
	if err != nil {
		return Measured{}, err
	}
	m := Measured{GitCommits: []string{}}
	var total time.Duration
	for _, id := range ids {
		rec, err := results.ReadRun(expDir, id)
		if err != nil {
			return Measured{}, err
		}
		if rec.Duration < 0 {
			return Measured{}, fmt.Errorf("run %s in %s: negative duration %v", id, expDir, rec.Duration)
		}
		m.Runs++
		total += rec.Duration
		commit := rec.GitCommit
		if commit == "" {
			commit = "unknown"
		}
		if !slices.Contains(m.GitCommits, commit) {
			m.GitCommits = append(m.GitCommits, commit)
		}
	}
	slices.Sort(m.GitCommits)
	m.TotalSeconds = total.Round(100 * time.Millisecond).Seconds()
	return m, nil
}

// CheckUpToDate regenerates durations.json from measurementsDir and compares it with the embedded one.
func CheckUpToDate(measurementsDir string) error {
	fresh, err := Generate(measurementsDir)
	if err != nil {
		return err
	}
	if !bytes.Equal(fresh, durationsJSON) {
		return errors.New("experiments/specs/" + DurationsFile + " is out of date with the records under " +
			measurementsDir + ": run `go generate ./experiments/specs`\n--- embedded\n" + string(durationsJSON) +
			"--- from the records\n" + string(fresh))
	}
	return nil
}

// ShortCommit shortens a recorded commit ("<40 hex>[-dirty]") to 7 digits, keeping "-dirty".
func ShortCommit(c string) string {
	rev, dirty := strings.CutSuffix(c, "-dirty")
	if len(rev) > 7 {
		rev = rev[:7]
	}
	if dirty {
		return rev + "-dirty"
	}
	return rev
}
