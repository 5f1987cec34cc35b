package results

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CorruptDir is the sub-directory of an experiment directory that unreadable runs are moved into.
const CorruptDir = "corrupt"

// SpecFile is the copy of the experiment's spec that the runner keeps in the experiment directory.
const SpecFile = "spec.toml"

// UnreadableError is a run whose run row exists but which cannot be read: a truncated, empty or corrupt run
// row, a companion that is not parquet, or a file that holds another run.
type UnreadableError struct {
	ExpDir string
	RunID  string
	Path   string // the run row
	Err    error
}

func (e *UnreadableError) Error() string {
	return fmt.Sprintf("run %s is unreadable: %v", e.RunID, e.Err)
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// Redo says how to redo the run: resuming the experiment moves the unreadable files aside and runs it again.
func (e *UnreadableError) Redo() string {
	root := filepath.Dir(filepath.Clean(e.ExpDir))
	spec := "SPEC"
	note := " (SPEC: the spec of experiment " + filepath.Base(filepath.Clean(e.ExpDir)) + ")"
	if _, err := os.Stat(filepath.Join(e.ExpDir, SpecFile)); err == nil {
		spec, note = filepath.Join(e.ExpDir, SpecFile), ""
	}
	return fmt.Sprintf("redo it with `cyphertalk run %s --results %s`%s, which moves the unreadable files into %s and runs it again",
		spec, root, note, filepath.Join(e.ExpDir, CorruptDir))
}

// Check reports whether run id under expDir is finished and readable: (true, nil) when its run row and
// companions read; (false, nil) when it has no run row; (false, *UnreadableError) when the run row exists but
// it or a companion cannot be read; any other error when the directory cannot be looked at.
func Check(expDir, id string) (bool, error) {
	done, err := Exists(expDir, id)
	if err != nil || !done {
		return false, err
	}
	if _, err := ReadRun(expDir, id); err != nil {
		return false, &UnreadableError{ExpDir: expDir, RunID: id, Path: RunPath(expDir, id), Err: err}
	}
	return true, nil
}

// MoveAside moves the run row and companions of run id into expDir/corrupt/ as <id>.<time>.parquet (the run row)
// and <id>.<time>.<companion>.parquet, so that the run counts as not run and is redone, and the unreadable files
// are kept for inspection. It returns the new paths. Files that are already gone (moved by another runner) are
// skipped.
func MoveAside(expDir, id string, now time.Time) ([]string, error) {
	stamp := now.UTC().Format("20060102T150405.000000000Z")
	dst := filepath.Join(expDir, CorruptDir)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, fmt.Errorf("moving run %s aside: %w", id, err)
	}
	var moved []string
	// Companions first, the run row last: a crash half-way leaves the run row, and the next resume moves it.
	for _, sub := range []string{CostsDir, CurvesDir, AttacksDir, RunsDir} {
		from := filepath.Join(expDir, sub, id+".parquet")
		name := id + "." + stamp + "." + sub + ".parquet"
		if sub == RunsDir {
			name = id + "." + stamp + ".parquet"
		}
		to := filepath.Join(dst, name)
		if err := os.Rename(from, to); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return moved, fmt.Errorf("moving run %s aside: %w", id, err)
		}
		moved = append(moved, to)
	}
	return moved, nil
}

// ReadAll reads every finished run of the experiment directory expDir like ReadExperiment and returns, besides
// the readable runs, the runs it skipped because they are unreadable.
func ReadAll(expDir string) ([]Record, []*UnreadableError, error) {
	if _, err := os.Stat(expDir); err != nil {
		return nil, nil, fmt.Errorf("reading results: %w", err)
	}
	ids, err := RunIDs(expDir)
	if err != nil {
		return nil, nil, err
	}
	recs := make([]Record, 0, len(ids))
	var bad []*UnreadableError
	for _, id := range ids {
		rec, err := ReadRun(expDir, id)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) { // moved aside or redone meanwhile by a runner
				if _, serr := os.Stat(RunPath(expDir, id)); errors.Is(serr, os.ErrNotExist) {
					continue
				}
			}
			bad = append(bad, &UnreadableError{ExpDir: expDir, RunID: id, Path: RunPath(expDir, id), Err: err})
			continue
		}
		recs = append(recs, *rec)
	}
	sortRecords(recs)
	return recs, bad, nil
}

// warnUnreadable logs one warning per skipped run, naming the file and how to redo it.
func warnUnreadable(bad []*UnreadableError) {
	for _, e := range bad {
		slog.Warn("skipping an unreadable run; "+e.Redo(), "file", e.Path, "run", e.RunID,
			"err", strings.TrimPrefix(e.Err.Error(), "reading "+e.Path+": "))
	}
}
