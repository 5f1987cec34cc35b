package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
)

// FormatKey and FormatVersion are stored in every file's key-value metadata, so a later layout can tell old
// files apart.
const (
	FormatKey     = "cyphertalk.results.format"
	FormatVersion = "1"
)

// Column-name prefixes of the run row's variable columns.
const (
	ParamPrefix  = "param_"
	MetricPrefix = "metric_"
	ExtraPrefix  = "extra_"
	TagPrefix    = "tag_"
	CostPrefix   = "cost_"
)

// Sub-directories of an experiment directory.
const (
	RunsDir    = "runs"
	CostsDir   = "costs"
	CurvesDir  = "curves"
	AttacksDir = "attacks"
)

// RunPath is where the run row of run id lives under the experiment directory expDir.
func RunPath(expDir, id string) string { return filepath.Join(expDir, RunsDir, id+".parquet") }

// Exists reports whether run id has finished (its run row exists) under expDir.
func Exists(expDir, id string) (bool, error) {
	_, err := os.Stat(RunPath(expDir, id))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("checking run %s: %w", id, err)
	}
}

// costRow is one row of costs/<id>.parquet: a method.Cost with its run id and figure group.
type costRow struct {
	RunID         string  `parquet:"run_id"`
	Index         int64   `parquet:"index"`
	Phase         string  `parquet:"phase"`
	Group         string  `parquet:"group"`
	ClientSeconds float64 `parquet:"client_s"`
	CloudSeconds  float64 `parquet:"cloud_s"`
	DealerSeconds float64 `parquet:"dealer_s"`
	Seconds       float64 `parquet:"seconds"`
	BytesToCloud  int64   `parquet:"bytes_to_cloud"`
	BytesToClient int64   `parquet:"bytes_to_client"`
	Rounds        int64   `parquet:"rounds"`
	Units         int64   `parquet:"units"`
	UnitName      string  `parquet:"unit_name"`
	Extrapolated  bool    `parquet:"extrapolated"`
	MeasuredUnits int64   `parquet:"measured_units"`
	Note          string  `parquet:"note"`
}

// curveRow is one row of curves/<id>.parquet.
type curveRow struct {
	RunID string  `parquet:"run_id"`
	Phase string  `parquet:"phase"`
	Step  int64   `parquet:"step"`
	Loss  float64 `parquet:"loss"`
}

// attackRow is one row of attacks/<id>.parquet.
type attackRow struct {
	RunID       string  `parquet:"run_id"`
	Attack      string  `parquet:"attack"`
	Top1        float64 `parquet:"top1"`
	Top5        float64 `parquet:"top5"`
	ContentTop1 float64 `parquet:"content_top1"`
	ContentTop5 float64 `parquet:"content_top5"`
	Tokens      int64   `parquet:"tokens"`
}

// Write stores rec under the experiment directory expDir: the costs, curve and attack companions first, the run
// row last, each atomically. A run whose Write did not return nil does not exist for Exists or the reader.
func Write(expDir string, rec *Record) error {
	if rec.RunID == "" || strings.ContainsAny(rec.RunID, `/\`) || strings.HasPrefix(rec.RunID, ".") {
		return fmt.Errorf("writing results: invalid run id %q", rec.RunID)
	}
	row, schema, err := runRow(rec)
	if err != nil {
		return fmt.Errorf("run %s: %w", rec.RunID, err)
	}
	costs := make([]costRow, len(rec.Costs))
	for i, c := range rec.Costs {
		costs[i] = costRow{RunID: rec.RunID, Index: int64(i), Phase: c.Phase, Group: method.Group(c.Phase),
			ClientSeconds: c.ClientSeconds, CloudSeconds: c.CloudSeconds, DealerSeconds: c.DealerSeconds,
			Seconds: c.Seconds(), BytesToCloud: c.BytesToCloud, BytesToClient: c.BytesToClient, Rounds: c.Rounds,
			Units: int64(c.Units), UnitName: c.UnitName, Extrapolated: c.Extrapolated,
			MeasuredUnits: int64(c.MeasuredUnits), Note: c.Note}
	}
	curve := make([]curveRow, len(rec.Curve))
	for i, p := range rec.Curve {
		curve[i] = curveRow{RunID: rec.RunID, Phase: p.Phase, Step: int64(p.Step), Loss: p.Loss}
	}
	attacks := make([]attackRow, len(rec.Attacks))
	for i, a := range rec.Attacks {
		attacks[i] = attackRow{RunID: rec.RunID, Attack: a.Attack, Top1: a.Top1, Top5: a.Top5,
			ContentTop1: a.ContentTop1, ContentTop5: a.ContentTop5, Tokens: int64(a.Tokens)}
	}
	if err := writeRows(filepath.Join(expDir, CostsDir, rec.RunID+".parquet"), costs); err != nil {
		return err
	}
	if err := writeRows(filepath.Join(expDir, CurvesDir, rec.RunID+".parquet"), curve); err != nil {
		return err
	}
	if err := writeRows(filepath.Join(expDir, AttacksDir, rec.RunID+".parquet"), attacks); err != nil {
		return err
	}
	return atomicfile.WriteFunc(RunPath(expDir, rec.RunID), 0o644, func(w io.Writer) error {
		pw := parquet.NewWriter(w, schema, parquet.KeyValueMetadata(FormatKey, FormatVersion))
		if _, err := pw.WriteRows([]parquet.Row{row}); err != nil {
			return err
		}
		return pw.Close()
	})
}

func writeRows[T any](path string, rows []T) error {
	return atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error {
		pw := parquet.NewGenericWriter[T](w, parquet.KeyValueMetadata(FormatKey, FormatVersion))
		if _, err := pw.Write(rows); err != nil {
			return err
		}
		return pw.Close()
	})
}

// column is one column of the run row: its parquet node and its value (nil = null, for optional columns).
type column struct {
	node  parquet.Node
	value any
}

// runRow lays rec out as the run row: the schema and the single row in the schema's (sorted) column order.
func runRow(rec *Record) (parquet.Row, *parquet.Schema, error) {
	cols := map[string]column{}
	put := func(name string, node parquet.Node, v any) error {
		if _, dup := cols[name]; dup {
			return fmt.Errorf("two values for column %q", name)
		}
		cols[name] = column{node, v}
		return nil
	}
	str := func(name, v string) error { return put(name, parquet.String(), v) }
	i64 := func(name string, v int64) error { return put(name, parquet.Int(64), v) }
	f64 := func(name string, v float64) error { return put(name, parquet.Leaf(parquet.DoubleType), v) }
	for _, c := range runColumns { // the fixed scalar columns, declared once by Record's tags
		v, err := c.get(rec)
		if err == nil {
			err = put(c.Name, c.node(), v)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	for name, v := range rec.Params {
		var err error
		switch x := v.(type) {
		case string:
			err = str(ParamPrefix+name, x)
		case bool:
			err = put(ParamPrefix+name, parquet.Leaf(parquet.BooleanType), x)
		case int64:
			err = i64(ParamPrefix+name, x)
		case int:
			err = i64(ParamPrefix+name, int64(x))
		case float64:
			err = f64(ParamPrefix+name, x)
		case []any:
			b, jerr := json.Marshal(x) // a list parameter is kept as its JSON text
			if jerr != nil {
				return nil, nil, fmt.Errorf("parameter %q: %w", name, jerr)
			}
			err = str(ParamPrefix+name, string(b))
		default:
			return nil, nil, fmt.Errorf("parameter %q has type %T; want string, bool, integer, float or a list", name, v)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	for name, v := range rec.Metrics {
		if err := f64(MetricPrefix+name, v); err != nil {
			return nil, nil, err
		}
	}
	for name, v := range rec.Extra {
		if err := f64(ExtraPrefix+name, v); err != nil {
			return nil, nil, err
		}
	}
	for name, v := range rec.Tags {
		if err := str(TagPrefix+name, v); err != nil {
			return nil, nil, err
		}
	}
	if err := costColumns(rec.Costs, put); err != nil {
		return nil, nil, err
	}

	group := parquet.Group{}
	for name, c := range cols {
		group[name] = c.node
	}
	schema := parquet.NewSchema("run", group)
	row := make(parquet.Row, 0, len(cols))
	for i, path := range schema.Columns() { // leaf order = the group's sorted field order
		c := cols[path[0]]
		if c.node.Optional() {
			if c.value == nil {
				row = append(row, parquet.NullValue().Level(0, 0, i))
				continue
			}
			row = append(row, parquet.ValueOf(c.value).Level(0, 1, i))
			continue
		}
		row = append(row, parquet.ValueOf(c.value).Level(0, 0, i))
	}
	return row, schema, nil
}

// costColumns adds the flat cost columns: per phase (summed if a phase is reported twice) its seconds by party,
// bytes each way, rounds and whether any figure is extrapolated; per figure group its total seconds; and the
// run's total bytes each way.
func costColumns(costs []method.Cost, put func(string, parquet.Node, any) error) error {
	type acc struct {
		client, cloud, dealer float64
		toCloud, toClient     int64
		rounds                int64
		extrapolated          bool
	}
	phases := map[string]*acc{}
	var order []string
	groups := map[string]float64{"preprocessing": 0, "private_tuning": 0, "private_inference": 0}
	var toCloud, toClient int64
	for _, c := range costs {
		name := columnName(c.Phase)
		a := phases[name]
		if a == nil {
			a = &acc{}
			phases[name] = a
			order = append(order, name)
		}
		a.client += c.ClientSeconds
		a.cloud += c.CloudSeconds
		a.dealer += c.DealerSeconds
		a.toCloud += c.BytesToCloud
		a.toClient += c.BytesToClient
		a.rounds += c.Rounds
		a.extrapolated = a.extrapolated || c.Extrapolated
		groups[columnName(method.Group(c.Phase))] += c.Seconds()
		toCloud += c.BytesToCloud
		toClient += c.BytesToClient
	}
	sort.Strings(order)
	f64 := parquet.Leaf(parquet.DoubleType)
	var errs []error
	for _, name := range order {
		a, p := phases[name], CostPrefix+name+"_"
		errs = append(errs, put(p+"client_s", f64, a.client), put(p+"cloud_s", f64, a.cloud),
			put(p+"dealer_s", f64, a.dealer), put(p+"bytes_to_cloud", parquet.Int(64), a.toCloud),
			put(p+"bytes_to_client", parquet.Int(64), a.toClient), put(p+"rounds", parquet.Int(64), a.rounds),
			put(p+"extrapolated", parquet.Leaf(parquet.BooleanType), a.extrapolated))
	}
	for g, s := range groups {
		errs = append(errs, put("time_"+g+"_s", f64, s))
	}
	errs = append(errs, put("bytes_to_cloud", parquet.Int(64), toCloud), put("bytes_to_client", parquet.Int(64), toClient))
	return errors.Join(errs...)
}

// columnName turns a phase or group name ("private-tuning") into a column-name part ("private_tuning").
func columnName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
