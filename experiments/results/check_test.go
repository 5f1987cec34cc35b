package results

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// corruptions damage a written run in the ways a crash, a full disk or a bad copy do.
var corruptions = map[string]func(t *testing.T, expDir, id string){
	"truncated run row": func(t *testing.T, expDir, id string) {
		p := RunPath(expDir, id)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, st.Size()/2); err != nil {
			t.Fatal(err)
		}
	},
	"empty run row": func(t *testing.T, expDir, id string) {
		if err := os.WriteFile(RunPath(expDir, id), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	},
	"garbage run row": func(t *testing.T, expDir, id string) {
		junk := bytes.Repeat([]byte("PAR1\x00\xffgarbage"), 300)
		if err := os.WriteFile(RunPath(expDir, id), junk, 0o644); err != nil {
			t.Fatal(err)
		}
	},
	"garbage costs companion": func(t *testing.T, expDir, id string) {
		if err := os.WriteFile(filepath.Join(expDir, CostsDir, id+".parquet"), []byte("not parquet"), 0o644); err != nil {
			t.Fatal(err)
		}
	},
	"truncated curve companion": func(t *testing.T, expDir, id string) {
		p := filepath.Join(expDir, CurvesDir, id+".parquet")
		if err := os.Truncate(p, 10); err != nil {
			t.Fatal(err)
		}
	},
}

func TestUnreadableRunsAreSkippedWithAWarningAndMovedAside(t *testing.T) {
	for name, damage := range corruptions {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "exp")
			good, bad := sampleRecord("00000000000000e1", 3), sampleRecord("00000000000000e2", 3)
			for _, r := range []*Record{good, bad} {
				if err := Write(dir, r); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, SpecFile), []byte("experiment = \"exp\"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			damage(t, dir, bad.RunID)

			ok, err := Check(dir, bad.RunID)
			var ue *UnreadableError
			if ok || !errors.As(err, &ue) || ue.Path != RunPath(dir, bad.RunID) {
				t.Fatalf("Check of the damaged run = %v, %v; want an UnreadableError", ok, err)
			}
			if ok, err := Check(dir, good.RunID); !ok || err != nil {
				t.Errorf("Check of the good run = %v, %v", ok, err)
			}

			// The reader skips it and says which file and how to redo it.
			var logs bytes.Buffer
			prev := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
			recs, err := ReadExperiment(dir)
			slog.SetDefault(prev)
			if err != nil {
				t.Fatalf("ReadExperiment failed on one unreadable run: %v", err)
			}
			if len(recs) != 1 || recs[0].RunID != good.RunID {
				t.Fatalf("read %d records, want only the good one", len(recs))
			}
			msg := logs.String()
			for _, want := range []string{"level=WARN", RunPath(dir, bad.RunID), "cyphertalk run " + filepath.Join(dir, SpecFile),
				"--results " + filepath.Dir(dir), filepath.Join(dir, CorruptDir)} {
				if !strings.Contains(msg, want) {
					t.Errorf("warning %q lacks %q", msg, want)
				}
			}
			_, unreadable, err := ReadAll(dir)
			if err != nil || len(unreadable) != 1 || unreadable[0].RunID != bad.RunID {
				t.Errorf("ReadAll unreadable = %v, %v", unreadable, err)
			}

			// Moving it aside makes it not run; the good run is untouched.
			now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			moved, err := MoveAside(dir, bad.RunID, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(moved) != 4 || moved[len(moved)-1] != filepath.Join(dir, CorruptDir, bad.RunID+".20300102T030405.000000000Z.parquet") {
				t.Errorf("moved %v", moved)
			}
			for _, p := range moved {
				if _, err := os.Stat(p); err != nil {
					t.Error(err)
				}
			}
			if ok, err := Check(dir, bad.RunID); ok || err != nil {
				t.Errorf("after MoveAside Check = %v, %v; want not run", ok, err)
			}
			recs, unreadable, err = ReadAll(dir)
			if err != nil || len(recs) != 1 || len(unreadable) != 0 {
				t.Errorf("after MoveAside: %d records, %v unreadable, %v", len(recs), unreadable, err)
			}
			if again, err := MoveAside(dir, bad.RunID, now.Add(time.Second)); err != nil || len(again) != 0 {
				t.Errorf("moving an absent run aside: %v, %v", again, err)
			}
		})
	}
}

func TestRedoWithoutSpecCopyNamesTheExperiment(t *testing.T) {
	e := &UnreadableError{ExpDir: filepath.Join("res", "paper"), RunID: "x", Err: errors.New("boom")}
	if got := e.Redo(); !strings.Contains(got, "cyphertalk run SPEC --results res`") || !strings.Contains(got, "experiment paper") {
		t.Errorf("Redo() = %q", got)
	}
}
