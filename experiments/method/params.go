package method

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// DecodeParams fills the exported fields of the struct *dst from params, strictly: each field is named by its
// `param:"name"` tag (fields without one are skipped); a key that names no field is an error listing the valid
// names; a value of the wrong type is an error naming the key. Integers convert to float fields; a whole float
// converts to an int field; a string field also accepts nothing else. Fields absent from params keep their
// value (set defaults before calling).
func DecodeParams(params map[string]any, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("DecodeParams: destination must be a pointer to a struct, got %T", dst)
	}
	s := v.Elem()
	fields := map[string]reflect.Value{}
	for i := range s.NumField() {
		name := s.Type().Field(i).Tag.Get("param")
		if name != "" && name != "-" {
			fields[name] = s.Field(i)
		}
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown parameter %q (valid: %s)", k, strings.Join(ParamNames(dst), ", "))
		}
		if err := assign(f, params[k]); err != nil {
			return fmt.Errorf("parameter %q: %w", k, err)
		}
	}
	return nil
}

// ParamNames lists the `param` tags of the struct dst points to, sorted.
func ParamNames(dst any) []string {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("param"); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func assign(f reflect.Value, val any) error {
	switch f.Kind() {
	case reflect.String:
		s, ok := val.(string)
		if !ok {
			return fmt.Errorf("want a string, got %T (%v)", val, val)
		}
		f.SetString(s)
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			return fmt.Errorf("want true or false, got %T (%v)", val, val)
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		switch x := val.(type) {
		case int64:
			f.SetInt(x)
		case int:
			f.SetInt(int64(x))
		case float64:
			if x != float64(int64(x)) {
				return fmt.Errorf("want an integer, got %v", x)
			}
			f.SetInt(int64(x))
		default:
			return fmt.Errorf("want an integer, got %T (%v)", val, val)
		}
	case reflect.Float64, reflect.Float32:
		switch x := val.(type) {
		case int64:
			f.SetFloat(float64(x))
		case int:
			f.SetFloat(float64(x))
		case float64:
			f.SetFloat(x)
		default:
			return fmt.Errorf("want a number, got %T (%v)", val, val)
		}
	case reflect.Slice:
		items, ok := val.([]any)
		if !ok {
			return fmt.Errorf("want a list, got %T (%v)", val, val)
		}
		out := reflect.MakeSlice(f.Type(), len(items), len(items))
		for i, it := range items {
			if err := assign(out.Index(i), it); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		f.Set(out)
	default:
		return fmt.Errorf("unsupported field kind %s", f.Kind())
	}
	return nil
}
