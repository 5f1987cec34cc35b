package datasets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// scanJSONL reads a JSON Lines file: one JSON object a line, blank lines
// skipped. The columns are the keys of the first object, sorted; each object
// gives one row with its value for each of those keys (a key it lacks, or a
// null, is a null field; other keys are ignored). Strings are taken as they
// are, numbers as written, booleans as true/false. A line that is not a JSON
// object, holds an object or array value, or (unless latin1) is not valid
// UTF-8 goes to onBad with the reason: JSON text is UTF-8, and encoding/json
// would silently replace bad bytes with U+FFFD. With latin1 every line is
// decoded from ISO-8859-1 before it is parsed.
func scanJSONL(path string, latin1 bool, onHeader headerFunc, onRow rowFunc, onBad func(line int, reason string)) error {
	var cols []string
	var fields []string
	var null []bool
	firstBad := ""
	bad := func(line int, reason string) {
		if firstBad == "" {
			firstBad = fmt.Sprintf("line %d: %s", line, reason)
		}
		onBad(line, reason)
	}
	n, err := scanLines(path, func(line int, s string) error {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		if latin1 {
			s = decodeLatin1(s)
		} else if off := invalidUTF8At(s); off >= 0 {
			bad(line, fmt.Sprintf("invalid UTF-8: byte 0x%02x at offset %d of the line (if the file is Latin-1, load it with encoding latin1)", s[off], off))
			return nil
		}
		obj, reason := parseJSONObject(s)
		if reason != "" {
			bad(line, reason)
			return nil
		}
		if cols == nil {
			cols = slices.Sorted(maps.Keys(obj))
			if cols == nil {
				cols = []string{}
			}
			if err := onHeader(cols); err != nil {
				return err
			}
			fields, null = make([]string, len(cols)), make([]bool, len(cols))
		}
		for i, c := range cols {
			v, ok := obj[c]
			fields[i], null[i] = v.text, !ok || v.null
		}
		onRow(line, fields, null)
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("read %s: empty file", path)
	}
	if cols == nil {
		if firstBad == "" {
			return fmt.Errorf("read %s: no line is a JSON object, so there are no columns", path)
		}
		return fmt.Errorf("read %s: no line is a JSON object, so there are no columns (first: %s)", path, firstBad)
	}
	return nil
}

// jsonValue is one value of a JSON Lines object rendered as text, or null.
type jsonValue struct {
	text string
	null bool
}

// parseJSONObject parses one line as a JSON object with scalar values, or
// returns the reason it is not one.
func parseJSONObject(s string) (map[string]jsonValue, string) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Sprintf("not a JSON object: %v", err)
	}
	if raw == nil {
		return nil, "not a JSON object: null"
	}
	if dec.More() {
		return nil, "more than one JSON value on the line"
	}
	obj := make(map[string]jsonValue, len(raw))
	for k, m := range raw {
		m = bytes.TrimSpace(m)
		switch {
		case bytes.Equal(m, []byte("null")):
			obj[k] = jsonValue{null: true}
		case len(m) > 0 && m[0] == '"':
			var str string
			if err := json.Unmarshal(m, &str); err != nil {
				return nil, fmt.Sprintf("key %q: %v", k, err)
			}
			obj[k] = jsonValue{text: str}
		case len(m) > 0 && (m[0] == '{' || m[0] == '['):
			return nil, fmt.Sprintf("key %q holds a JSON object or array, want text, a number or a boolean", k)
		default: // number or boolean, as written
			obj[k] = jsonValue{text: string(m)}
		}
	}
	return obj, ""
}
