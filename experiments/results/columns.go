package results

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// colKind is how a Record field maps to a parquet column.
type colKind int

const (
	kindString   colKind = iota // string ↔ STRING
	kindInt                     // int, int64 ↔ INT64
	kindUint                    // uint64 ↔ INT64 (values above MaxInt64 are refused)
	kindFloat                   // float64 ↔ DOUBLE
	kindNaNFloat                // float64 ↔ optional DOUBLE, NaN ↔ null
	kindBool                    // bool ↔ BOOLEAN
	kindTime                    // time.Time ↔ TIMESTAMP(µs), UTC
	kindDuration                // time.Duration ↔ DOUBLE seconds
)

// scalarColumn is one fixed scalar column of the run row: its name and the Record field holding it.
type scalarColumn struct {
	Name  string
	index []int // reflect field index path into Record
	kind  colKind
}

// runColumns is the table of the run row's fixed scalar columns, from Record's `col` tags; the writer and the
// reader both walk it.
var runColumns = mustColumns(reflect.TypeFor[Record]())

// RunColumns lists the names of the run row's fixed scalar columns (Record's `col` tags), in declaration order.
func RunColumns() []string {
	names := make([]string, len(runColumns))
	for i, c := range runColumns {
		names[i] = c.Name
	}
	return names
}

var variablePrefixes = []string{ParamPrefix, MetricPrefix, ExtraPrefix, TagPrefix, CostPrefix, "time_"}

// mustColumns builds the column table of a struct type: every field with a `col` tag, and the fields of
// untagged embedded structs. A bad declaration is a programming error and panics at start-up.
func mustColumns(t reflect.Type) []scalarColumn {
	cols, err := columnsOf(t, nil)
	if err != nil {
		panic(fmt.Sprintf("results: %s: %v", t, err))
	}
	seen := map[string]bool{"bytes_to_cloud": true, "bytes_to_client": true} // written from the costs
	for _, c := range cols {
		if seen[c.Name] {
			panic(fmt.Sprintf("results: %s: column %q declared twice", t, c.Name))
		}
		seen[c.Name] = true
		for _, p := range variablePrefixes {
			if strings.HasPrefix(c.Name, p) {
				panic(fmt.Sprintf("results: %s: column %q starts with the variable-column prefix %q", t, c.Name, p))
			}
		}
	}
	return cols
}

func columnsOf(t reflect.Type, parent []int) ([]scalarColumn, error) {
	var cols []scalarColumn
	for i := range t.NumField() {
		f := t.Field(i)
		index := append(append([]int(nil), parent...), i)
		tag, tagged := f.Tag.Lookup("col")
		if !tagged {
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				sub, err := columnsOf(f.Type, index)
				if err != nil {
					return nil, err
				}
				cols = append(cols, sub...)
			}
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		if name == "" || columnName(name) != name {
			return nil, fmt.Errorf("field %s: column name %q: want letters, digits and _", f.Name, name)
		}
		if !f.IsExported() {
			return nil, fmt.Errorf("field %s (column %s) is not exported", f.Name, name)
		}
		var kind colKind
		switch {
		case f.Type == reflect.TypeFor[time.Time]():
			kind = kindTime
		case f.Type == reflect.TypeFor[time.Duration]():
			kind = kindDuration
		default:
			switch f.Type.Kind() {
			case reflect.String:
				kind = kindString
			case reflect.Int, reflect.Int64:
				kind = kindInt
			case reflect.Uint64:
				kind = kindUint
			case reflect.Float64:
				kind = kindFloat
				if opt == "nan" {
					kind, opt = kindNaNFloat, ""
				}
			case reflect.Bool:
				kind = kindBool
			default:
				return nil, fmt.Errorf("field %s (column %s) has type %s; want string, bool, int, int64, uint64, float64, time.Time or time.Duration", f.Name, name, f.Type)
			}
		}
		if opt != "" {
			return nil, fmt.Errorf("field %s: unknown column option %q (known: nan, on a float64)", f.Name, opt)
		}
		cols = append(cols, scalarColumn{Name: name, index: index, kind: kind})
	}
	return cols, nil
}

// node is the column's parquet type.
func (c scalarColumn) node() parquet.Node {
	switch c.kind {
	case kindString:
		return parquet.String()
	case kindInt, kindUint:
		return parquet.Int(64)
	case kindNaNFloat:
		return parquet.Optional(parquet.Leaf(parquet.DoubleType))
	case kindBool:
		return parquet.Leaf(parquet.BooleanType)
	case kindTime:
		return parquet.Timestamp(parquet.Microsecond)
	default: // kindFloat, kindDuration
		return parquet.Leaf(parquet.DoubleType)
	}
}

// get is the column's value in rec as the writer stores it (nil = null).
func (c scalarColumn) get(rec *Record) (any, error) {
	f := reflect.ValueOf(rec).Elem().FieldByIndex(c.index)
	switch c.kind {
	case kindString:
		return f.String(), nil
	case kindInt:
		return f.Int(), nil
	case kindUint:
		u := f.Uint()
		if u > math.MaxInt64 {
			return nil, fmt.Errorf("column %s: %d does not fit a parquet INT64", c.Name, u)
		}
		return int64(u), nil
	case kindFloat:
		return f.Float(), nil
	case kindNaNFloat:
		if math.IsNaN(f.Float()) {
			return nil, nil
		}
		return f.Float(), nil
	case kindBool:
		return f.Bool(), nil
	case kindTime:
		return f.Interface().(time.Time).UTC().UnixMicro(), nil
	case kindDuration:
		return time.Duration(f.Int()).Seconds(), nil
	}
	return nil, fmt.Errorf("column %s: unknown kind %d", c.Name, c.kind)
}

// setDefault puts the value a file without this column reads as: NaN for a NaN-able float, else zero.
func (c scalarColumn) setDefault(rec *Record) {
	if c.kind == kindNaNFloat {
		reflect.ValueOf(rec).Elem().FieldByIndex(c.index).SetFloat(math.NaN())
	}
}

// set stores a value read from the file (string, bool, int64, float64 or nil, as goValue returns) into rec.
func (c scalarColumn) set(rec *Record, val any) error {
	f := reflect.ValueOf(rec).Elem().FieldByIndex(c.index)
	want := func(what string) error {
		return fmt.Errorf("column %s: want %s, got %T", c.Name, what, val)
	}
	switch c.kind {
	case kindString:
		s, ok := val.(string)
		if !ok {
			return want("a string")
		}
		f.SetString(s)
	case kindInt, kindUint, kindTime:
		i, ok := val.(int64)
		if !ok {
			return want("an integer")
		}
		switch c.kind {
		case kindInt:
			f.SetInt(i)
		case kindUint:
			if i < 0 {
				return fmt.Errorf("column %s: negative value %d", c.Name, i)
			}
			f.SetUint(uint64(i))
		default:
			f.Set(reflect.ValueOf(time.UnixMicro(i).UTC()))
		}
	case kindFloat, kindNaNFloat, kindDuration:
		var x float64
		switch v := val.(type) {
		case nil:
			x = math.NaN()
		case float64:
			x = v
		case int64:
			x = float64(v)
		default:
			return want("a number")
		}
		if c.kind == kindDuration {
			f.SetInt(int64(time.Duration(x * float64(time.Second))))
		} else {
			f.SetFloat(x)
		}
	case kindBool:
		b, ok := val.(bool)
		if !ok {
			return want("a boolean")
		}
		f.SetBool(b)
	}
	return nil
}
