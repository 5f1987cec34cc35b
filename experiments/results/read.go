package results

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// RunIDs lists the finished runs under the experiment directory expDir (those with a run row), sorted. A
// missing directory has none. Temporary files of an interrupted write (".<name>.tmp-*") are not runs.
func RunIDs(expDir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(expDir, RunsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing runs of %s: %w", expDir, err)
	}
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && !strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".parquet") {
			ids = append(ids, strings.TrimSuffix(name, ".parquet"))
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// ReadExperiment reads every finished run of the experiment directory expDir (results/<experiment>) with its
// companions, sorted by task, method, label, seed and run id. Runs of different methods carry different
// parameter, metric, extra and tag names; each Record has its own. A run that cannot be read (a truncated or
// corrupt file) is skipped with a warning (slog) naming the file and how to redo it; ReadAll returns them.
func ReadExperiment(expDir string) ([]Record, error) {
	recs, bad, err := ReadAll(expDir)
	if err != nil {
		return nil, err
	}
	warnUnreadable(bad)
	return recs, nil
}

func sortRecords(recs []Record) {
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		switch {
		case a.Task != b.Task:
			return a.Task < b.Task
		case a.Method != b.Method:
			return a.Method < b.Method
		case a.Label != b.Label:
			return a.Label < b.Label
		case a.Seed != b.Seed:
			return a.Seed < b.Seed
		}
		return a.RunID < b.RunID
	})
}

// ReadRun reads one finished run: its run row and companions (a missing companion reads as empty).
func ReadRun(expDir, id string) (rec *Record, err error) {
	defer func() { // a malformed file must not bring the reader down
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("reading run %s under %s: malformed parquet: %v", id, expDir, p)
		}
	}()
	return readRun(expDir, id)
}

func readRun(expDir, id string) (*Record, error) {
	path := RunPath(expDir, id)
	rec, err := readRunRow(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	costs, err := readCompanion[costRow](filepath.Join(expDir, CostsDir, id+".parquet"))
	if err != nil {
		return nil, err
	}
	sort.SliceStable(costs, func(i, j int) bool { return costs[i].Index < costs[j].Index })
	for _, c := range costs {
		rec.Costs = append(rec.Costs, method.Cost{Phase: c.Phase, ClientSeconds: c.ClientSeconds,
			CloudSeconds: c.CloudSeconds, DealerSeconds: c.DealerSeconds, BytesToCloud: c.BytesToCloud,
			BytesToClient: c.BytesToClient, Rounds: c.Rounds, Units: int(c.Units), UnitName: c.UnitName,
			Extrapolated: c.Extrapolated, MeasuredUnits: int(c.MeasuredUnits), Note: c.Note})
	}
	curve, err := readCompanion[curveRow](filepath.Join(expDir, CurvesDir, id+".parquet"))
	if err != nil {
		return nil, err
	}
	for _, p := range curve {
		rec.Curve = append(rec.Curve, method.CurvePoint{Phase: p.Phase, Step: int(p.Step), Loss: p.Loss})
	}
	attacks, err := readCompanion[attackRow](filepath.Join(expDir, AttacksDir, id+".parquet"))
	if err != nil {
		return nil, err
	}
	for _, a := range attacks {
		rec.Attacks = append(rec.Attacks, method.AttackResult{Attack: a.Attack, Top1: a.Top1, Top5: a.Top5,
			ContentTop1: a.ContentTop1, ContentTop5: a.ContentTop5, Tokens: int(a.Tokens)})
	}
	if rec.RunID != id {
		return nil, fmt.Errorf("reading %s: the file holds run %q", path, rec.RunID)
	}
	return rec, nil
}

func readCompanion[T any](path string) ([]T, error) {
	rows, err := parquet.ReadFile[T](path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return rows, nil
}

// readRunRow decodes the single row of a run file by column name.
func readRunRow(path string) (*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, err
	}
	if v, ok := pf.Lookup(FormatKey); ok && v != FormatVersion {
		return nil, fmt.Errorf("results format %q, this reader knows %q", v, FormatVersion)
	}
	if n := pf.NumRows(); n != 1 {
		return nil, fmt.Errorf("a run file holds one row, this one %d", n)
	}
	reader := parquet.NewReader(pf)
	defer reader.Close()
	rows := make([]parquet.Row, 1)
	if n, err := reader.ReadRows(rows); n != 1 {
		if err == nil || errors.Is(err, io.EOF) {
			err = errors.New("no row")
		}
		return nil, err
	}
	columns := pf.Schema().Columns()
	rec := newRecord()
	for _, v := range rows[0] {
		if v.Column() < 0 || v.Column() >= len(columns) {
			return nil, fmt.Errorf("value for column %d of %d", v.Column(), len(columns))
		}
		if err := setField(rec, columns[v.Column()][0], v); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// goValue converts a parquet value to string, bool, int64 or float64 (nil for null).
func goValue(v parquet.Value) any {
	if v.IsNull() {
		return nil
	}
	switch v.Kind() {
	case parquet.Boolean:
		return v.Boolean()
	case parquet.Int32, parquet.Int64:
		return v.Int64()
	case parquet.Float, parquet.Double:
		return v.Double()
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	}
	return v.String()
}

// runColumnByName indexes runColumns for the reader.
var runColumnByName = func() map[string]scalarColumn {
	m := make(map[string]scalarColumn, len(runColumns))
	for _, c := range runColumns {
		m[c.Name] = c
	}
	return m
}()

// newRecord is an empty Record as a run file without any column would read: empty maps, NaN where a column is
// NaN-able.
func newRecord() *Record {
	rec := &Record{Params: map[string]any{}, Metrics: map[string]float64{}, Extra: map[string]float64{},
		Tags: map[string]string{}}
	for _, c := range runColumns {
		c.setDefault(rec)
	}
	return rec
}

func setField(rec *Record, name string, v parquet.Value) error {
	val := goValue(v)
	if c, ok := runColumnByName[name]; ok {
		return c.set(rec, val)
	}
	float := func(dst *float64) error {
		switch x := val.(type) {
		case nil:
			*dst = math.NaN()
		case float64:
			*dst = x
		case int64:
			*dst = float64(x)
		default:
			return fmt.Errorf("column %s: want a number, got %T", name, val)
		}
		return nil
	}
	switch {
	case strings.HasPrefix(name, ParamPrefix):
		if val == nil {
			return nil // absent in this run (a file written by a merging tool)
		}
		rec.Params[strings.TrimPrefix(name, ParamPrefix)] = val
	case strings.HasPrefix(name, MetricPrefix):
		var x float64
		if err := float(&x); err != nil {
			return err
		}
		rec.Metrics[strings.TrimPrefix(name, MetricPrefix)] = x
	case strings.HasPrefix(name, ExtraPrefix):
		var x float64
		if err := float(&x); err != nil {
			return err
		}
		rec.Extra[strings.TrimPrefix(name, ExtraPrefix)] = x
	case strings.HasPrefix(name, TagPrefix):
		s, ok := val.(string)
		if !ok {
			return fmt.Errorf("column %s: want a string, got %T", name, val)
		}
		rec.Tags[strings.TrimPrefix(name, TagPrefix)] = s
	}
	// cost_*, time_* and bytes_* are summaries of the costs companion, which the Record carries in full.
	return nil
}
