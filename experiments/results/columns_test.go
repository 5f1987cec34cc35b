package results

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// TestEveryDeclaredColumnRoundTrips walks the column table (Record's `col` tags, method.Scalars included): for
// each column it sets a value different from every other record's, writes the run, and checks that the run file
// has that column with that value and that the reader puts it back in the same field. A field added to Record or
// method.Scalars with a `col` tag is covered with no change to this test, the writer or the reader.
func TestEveryDeclaredColumnRoundTrips(t *testing.T) {
	if len(runColumns) < 20 {
		t.Fatalf("only %d declared columns: %v", len(runColumns), RunColumns())
	}
	for _, must := range []string{"run_id", "seed", "epsilon", "key_fingerprint", "git_commit", "git_dirty", "start", "duration_s", "label"} {
		if !slices.Contains(RunColumns(), must) {
			t.Errorf("column %q is not declared (columns %v)", must, RunColumns())
		}
	}
	for i, c := range runColumns {
		t.Run(c.Name, func(t *testing.T) {
			dir := t.TempDir()
			rec := sampleRecord("00000000000000c0", 1)
			field := reflect.ValueOf(rec).Elem().FieldByIndex(c.index)
			var fileValue any // what a generic parquet reader must see
			switch c.kind {
			case kindString:
				field.SetString("value-of-" + c.Name)
				if c.Name == "run_id" {
					field.SetString("00000000000000c1")
				}
				fileValue = field.String()
			case kindInt:
				field.SetInt(int64(1000 + i))
				fileValue = int64(1000 + i)
			case kindUint:
				field.SetUint(uint64(1 << 40))
				fileValue = int64(1 << 40)
			case kindFloat, kindNaNFloat:
				field.SetFloat(0.25 + float64(i))
				fileValue = 0.25 + float64(i)
			case kindBool:
				field.SetBool(!field.Bool())
				fileValue = field.Bool()
			case kindTime:
				ts := time.Date(2031, 4, 5, 6, 7, 8, 9000, time.UTC)
				field.Set(reflect.ValueOf(ts))
				fileValue = ts.UnixMicro()
			case kindDuration:
				field.SetInt(int64(2500 * time.Millisecond))
				fileValue = 2.5
			default:
				t.Fatalf("kind %d not covered", c.kind)
			}
			if err := Write(dir, rec); err != nil {
				t.Fatal(err)
			}
			rows, err := genericRows(RunPath(dir, rec.RunID))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := rows[0][c.Name]
			if !ok {
				t.Fatalf("the run file has no column %q", c.Name)
			}
			if tm, isTime := got.(time.Time); isTime {
				got = tm.UnixMicro()
			}
			if !reflect.DeepEqual(got, fileValue) {
				t.Errorf("column %s holds %v (%T), want %v", c.Name, got, got, fileValue)
			}
			back, err := ReadRun(dir, rec.RunID)
			if err != nil {
				t.Fatal(err)
			}
			want := field.Interface()
			have := reflect.ValueOf(back).Elem().FieldByIndex(c.index).Interface()
			if !reflect.DeepEqual(have, want) {
				t.Errorf("field of column %s reads back %v, want %v", c.Name, have, want)
			}
		})
	}
}

func TestNaNColumnsAreNullAndAbsentColumnsReadAsDefaults(t *testing.T) {
	rec := newRecord()
	if !math.IsNaN(rec.Epsilon) || !math.IsNaN(rec.Delta) || rec.GitDirty {
		t.Errorf("defaults: ε %v δ %v dirty %v", rec.Epsilon, rec.Delta, rec.GitDirty)
	}
	dir := t.TempDir()
	r := sampleRecord("00000000000000d0", 0)
	r.Delta = math.NaN()
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	rows, err := genericRows(RunPath(dir, r.RunID))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := rows[0]["delta"]; !ok || v != nil {
		t.Errorf("delta = %v (present %v), want null", v, ok)
	}
}

func TestBadColumnDeclarationsPanic(t *testing.T) {
	type dup struct {
		A string `col:"a"`
		B string `col:"a"`
	}
	type unsupported struct {
		A []int `col:"a"`
	}
	type prefixed struct {
		A float64 `col:"metric_x"`
	}
	type badOption struct {
		A string `col:"a,nan"`
	}
	for name, typ := range map[string]reflect.Type{"duplicate": reflect.TypeFor[dup](),
		"unsupported type": reflect.TypeFor[unsupported](), "variable prefix": reflect.TypeFor[prefixed](),
		"nan on a string": reflect.TypeFor[badOption]()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			mustColumns(typ)
		}()
	}
	type embedded struct {
		X int `col:"x"`
	}
	type outer struct {
		A string `col:"a"`
		embedded
		Ignored map[string]int
	}
	cols := mustColumns(reflect.TypeFor[outer]())
	if len(cols) != 2 || cols[0].Name != "a" || cols[1].Name != "x" || !reflect.DeepEqual(cols[1].index, []int{1, 0}) {
		t.Errorf("columns %+v", cols)
	}
}

// measurementsDir locates the committed records (measurements/<name>) from this package's directory.
func measurementsDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "measurements", name)
	if _, err := os.Stat(filepath.Join(dir, RunsDir)); err != nil {
		t.Skipf("committed records not found: %v", err)
	}
	return dir
}

// TestCommittedMeasurementsReadTheSame reads the records committed under measurements/ (written before the column
// table) and checks known values; rewriting each record gives the same run-row columns (names, types,
// optionality) plus git_dirty, and the same values.
func TestCommittedMeasurementsReadTheSame(t *testing.T) {
	for _, tc := range []struct {
		name  string
		runs  int
		id    string
		check func(r Record) bool
	}{
		{"dp", 30, "2beeaf83fcf2e0d5", func(r Record) bool {
			return r.Task == "qqp" && r.Method == "dp-forward" && r.Seed == 1 && r.Preset == "tiny" && r.MaxTrain == 8000 &&
				r.Epochs == 3 && r.LearningRate == 0.002 && r.Metrics["accuracy"] == 0.6063093100795076 &&
				r.Metrics["f1"] == 0.1273450824332007 && r.Epsilon == 4 && r.Delta == 0.000125 && r.KeyFingerprint == "" &&
				r.EvalExamples == 3899 && r.Host == "vm" && r.GoVersion == "go1.26.8" &&
				r.Start.Equal(time.Date(2026, 11, 30, 18, 22, 50, 792760000, time.UTC)) &&
				r.Duration == 14*time.Minute+8521758848*time.Nanosecond && len(r.Costs) == 2 && len(r.Curve) == 3 &&
				r.Params["epsilon"] == 4.0 && r.Params["attacks"] == true && r.Tags["mechanism"] == "dp-forward"
		}},
		{"cyphertalk", 4, "30e8ad996273e023", func(r Record) bool {
			return r.Method == "cyphertalk" && r.Seed == 2 && r.Label == "cyphertalk (recovered: E_s in recovery, no distillation)" &&
				r.Metrics["accuracy"] == 0.6909463965119261 && math.IsNaN(r.Epsilon) && math.IsNaN(r.Delta) &&
				r.KeyFingerprint == "c964cf202b5d7ea15c8f9e6b6ec5c8e9abe4fa5040ee4d586635a02eaed13849" &&
				r.Extra["mlm_loss_shaken"] == 7.392583052269063 && r.Tags["ops"] == "gaussian:sigma=2;π" &&
				r.Params["horizontal"] == true && r.Params["table_steps"] == int64(0) &&
				r.Duration == 20*time.Minute+9116973690*time.Nanosecond
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := measurementsDir(t, tc.name)
			recs, bad, err := ReadAll(dir)
			if err != nil || len(bad) != 0 {
				t.Fatalf("reading %s: %v, unreadable %v", dir, err, bad)
			}
			if len(recs) != tc.runs {
				t.Fatalf("%d runs, want %d", len(recs), tc.runs)
			}
			found := false
			for _, r := range recs {
				if r.GitCommit != "unknown" || r.GitDirty || r.Experiment != tc.name || r.Backend == "" {
					t.Errorf("run %s: provenance %q dirty %v, experiment %q", r.RunID, r.GitCommit, r.GitDirty, r.Experiment)
				}
				if r.RunID == tc.id {
					found = true
					if !tc.check(r) {
						t.Errorf("run %s reads differently: %+v", r.RunID, r)
					}
				}
			}
			if !found {
				t.Fatalf("run %s not read", tc.id)
			}
			// Rewriting every record gives the same columns and values (plus git_dirty).
			out := t.TempDir()
			for _, r := range recs {
				if err := Write(out, &r); err != nil {
					t.Fatal(err)
				}
				old, err := columnsAndRow(RunPath(dir, r.RunID))
				if err != nil {
					t.Fatal(err)
				}
				rewritten, err := columnsAndRow(RunPath(out, r.RunID))
				if err != nil {
					t.Fatal(err)
				}
				if rewritten["git_dirty"] != "BOOLEAN=false" {
					t.Errorf("run %s: git_dirty %q", r.RunID, rewritten["git_dirty"])
				}
				delete(rewritten, "git_dirty")
				if !reflect.DeepEqual(old, rewritten) {
					for k := range mergeKeys(old, rewritten) {
						if old[k] != rewritten[k] {
							t.Errorf("run %s column %s: committed %q, rewritten %q", r.RunID, k, old[k], rewritten[k])
						}
					}
				}
			}
		})
	}
}

// columnsAndRow describes a run file's single row as column → "TYPE[?]=value" ("?" = optional).
func columnsAndRow(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, err
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	rows := make([]parquet.Row, 1)
	if _, err := r.ReadRows(rows); err != nil && !strings.Contains(err.Error(), "EOF") {
		return nil, err
	}
	out := map[string]string{}
	for i, leaf := range pf.Schema().Columns() {
		node := pf.Schema().Fields()[0]
		for _, fld := range pf.Schema().Fields() {
			if fld.Name() == leaf[0] {
				node = fld
			}
		}
		typ := node.Type().String()
		if node.Optional() {
			typ += "?"
		}
		out[leaf[0]] = typ + "=" + rows[0][i].String()
	}
	return out, nil
}

func mergeKeys(a, b map[string]string) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}
