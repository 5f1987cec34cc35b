package experiments

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// specKeyNames are the words an error may use to name where a spec is wrong: every key of the spec structure
// (specFile's toml tags, nested), the reserved keys of a [[method]] block and "method block N".
func specKeyNames() []string {
	names := slices.Clone(reservedMethodKeys)
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if tag := f.Tag.Get("toml"); tag != "" {
				names = append(names, tag)
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[specFile]())
	return names
}

// namesPlace matches an error that names a line, a method block or a key of the spec.
var namesPlace = regexp.MustCompile(`line \d+|method block \d+|\b(` + strings.Join(specKeyNames(), "|") + `)\b`)

// FuzzParseSpec feeds arbitrary documents to the spec parser (with the test methods of fake_test.go registered
// under the real methods' names). Parse must never panic; a spec it accepts must resolve to the same runs when
// parsed again, each with the id RunID gives it; a spec it rejects must get an error that names a line or a
// key. The seeds are the embedded specs plus the committed corpus (testdata/fuzz/FuzzParseSpec): shipped specs,
// sweeps and broken documents.
func FuzzParseSpec(f *testing.F) {
	for _, name := range EmbeddedNames() {
		data, err := Embedded(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<14 {
			return // the grid of a large document can be very large; nothing new is learnt from it
		}
		s1, err := Parse(data, "fuzz.toml")
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "spec fuzz.toml: ")
			if !namesPlace.MatchString(msg) {
				t.Errorf("error names no line and no key: %v", err)
			}
			return
		}
		if len(s1.Runs) == 0 {
			t.Errorf("an accepted spec resolves to no runs")
		}
		s2, err := Parse(data, "fuzz.toml")
		if err != nil {
			t.Fatalf("accepted once, rejected the second time: %v", err)
		}
		if !reflect.DeepEqual(s1, s2) {
			t.Fatalf("two parses of the same spec differ:\n%v\n%v", s1.Runs, s2.Runs)
		}
		ids := map[string]bool{}
		for _, r := range s1.Runs {
			id, err := RunID(r)
			if err != nil || id != r.ID {
				t.Errorf("run %s: RunID gives %q, %v", r, id, err)
			}
			if ids[r.ID] {
				t.Errorf("two runs have the id %s", r.ID)
			}
			ids[r.ID] = true
		}
	})
}
