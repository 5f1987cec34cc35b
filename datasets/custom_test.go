package datasets

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadCustomTSV(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "reviews.tsv"),
		"id\treview\tcategory\n"+
			"1\tgreat \"film\"\tpos\n"+ // line 2
			"2\tdull\tneg\n"+ // line 3
			"3\tmissing a column\n"+ // line 4: malformed
			"4\tfine\tneutral\n"+ // line 5
			"5\tno label\t \n"+ // line 6: empty label
			"6\tsuperb\tpos\n") // line 7
	set, names, err := LoadCustom(CustomSpec{Path: p, TextA: "review", Label: "category"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"neg", "neutral", "pos"}) {
		t.Errorf("names = %v, want sorted [neg neutral pos]", names)
	}
	want := []Example{{"great \"film\"", "", 2}, {"dull", "", 0}, {"fine", "", 1}, {"superb", "", 2}}
	if !slices.Equal(set.Examples, want) {
		t.Errorf("examples = %#v, want %#v", set.Examples, want)
	}
	if len(set.Malformed) != 2 || set.Malformed[0].Line != 4 || set.Malformed[1].Line != 6 {
		t.Errorf("malformed = %+v, want lines 4 and 6", set.Malformed)
	}
	if set.Task != CustomTaskName || set.Source != p {
		t.Errorf("set = %q %q", set.Task, set.Source)
	}

	// Fixed label order; a label outside it is malformed.
	set, names, err = LoadCustom(CustomSpec{Path: p, TextA: "review", Label: "category", Labels: []string{"pos", "neg"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"pos", "neg"}) || len(set.Examples) != 3 || set.Examples[0].Label != 0 || set.Examples[1].Label != 1 {
		t.Errorf("with Labels: names %v examples %#v", names, set.Examples)
	}
	if len(set.Malformed) != 3 || set.Malformed[1].Line != 5 || !strings.Contains(set.Malformed[1].Reason, "neutral") {
		t.Errorf("with Labels: malformed = %+v, want lines 4, 5 (neutral), 6", set.Malformed)
	}

	// A wrong column name is an error naming it and listing the columns.
	_, _, err = LoadCustom(CustomSpec{Path: p, TextA: "review", Label: "label"})
	if err == nil {
		t.Fatal("LoadCustom with a wrong column name succeeded")
	}
	for _, s := range []string{`"label"`, `"id"`, `"review"`, `"category"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	if _, _, err := LoadCustom(CustomSpec{Path: p, TextA: "review", TextB: "answer", Label: "category"}); err == nil || !strings.Contains(err.Error(), `"answer"`) {
		t.Errorf("missing TextB column error = %v", err)
	}
	if _, _, err := LoadCustom(CustomSpec{Path: filepath.Join(t.TempDir(), "none.tsv"), TextA: "a", Label: "b"}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file error = %v", err)
	}
}

func TestLoadCustomNumericPair(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "pairs.tsv"),
		"q\ta\tstars\r\n"+
			"x1\ty1\t5\r\n"+
			"x2\ty2\t1\r\n"+
			"x3\ty3\t3\r\n"+
			"x4\ty4\t5\r\n")
	set, names, err := LoadCustom(CustomSpec{Path: p, TextA: "q", TextB: "a", Label: "stars"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"1", "3", "5"}) {
		t.Errorf("names = %v, want [1 3 5]", names)
	}
	want := []Example{{"x1", "y1", 5}, {"x2", "y2", 1}, {"x3", "y3", 3}, {"x4", "y4", 5}}
	if !slices.Equal(set.Examples, want) || len(set.Malformed) != 0 {
		t.Errorf("examples = %#v malformed %v", set.Examples, set.Malformed)
	}
}

func TestLoadCustomParquet(t *testing.T) {
	type row struct {
		Text  string `parquet:"text"`
		Other string `parquet:"other"`
		Label int64  `parquet:"label"`
	}
	p := filepath.Join(t.TempDir(), "data.parquet")
	rows := []row{{"a", "b", 1}, {"c", "d", 0}, {"e", "f", 1}}
	if err := parquet.WriteFile(p, rows); err != nil {
		t.Fatal(err)
	}
	set, names, err := LoadCustom(CustomSpec{Path: p, TextA: "text", TextB: "other", Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{{"a", "b", 1}, {"c", "d", 0}, {"e", "f", 1}}
	if !slices.Equal(set.Examples, want) || !slices.Equal(names, []string{"0", "1"}) {
		t.Errorf("parquet: examples %#v names %v", set.Examples, names)
	}
	_, _, err = LoadCustom(CustomSpec{Path: p, TextA: "sentence", Label: "label"})
	if err == nil || !strings.Contains(err.Error(), `"sentence"`) || !strings.Contains(err.Error(), `"other"`) {
		t.Errorf("parquet missing column error = %v", err)
	}
}

// A Latin-1 file is never silently mangled: by default each row with bytes
// that are not UTF-8 is malformed, with its line and the column; with
// encoding latin1 the bytes are decoded.
func TestLoadCustomLatin1(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "menu.tsv"),
		"text\tlabel\n"+
			"caf\xe9 au lait\tpos\n"+ // line 2: Latin-1 é
			"plain tea\tneg\n"+ // line 3
			"cr\xe8me br\xfbl\xe9e\tpos\n") // line 4
	set, _, err := LoadCustom(CustomSpec{Path: p, TextA: "text", Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Examples) != 1 || set.Examples[0].TextA != "plain tea" {
		t.Errorf("utf-8: examples = %#v, want only line 3", set.Examples)
	}
	if len(set.Malformed) != 2 || set.Malformed[0].Line != 2 || set.Malformed[1].Line != 4 {
		t.Fatalf("utf-8: malformed = %+v, want lines 2 and 4", set.Malformed)
	}
	for _, want := range []string{"UTF-8", `"text"`, "0xe9", "latin1"} {
		if !strings.Contains(set.Malformed[0].Reason, want) {
			t.Errorf("reason %q does not mention %s", set.Malformed[0].Reason, want)
		}
	}
	for _, enc := range []string{"latin1", "ISO-8859-1", "latin-1"} {
		set, names, err := LoadCustom(CustomSpec{Path: p, TextA: "text", Label: "label", Encoding: enc})
		if err != nil {
			t.Fatal(err)
		}
		want := []Example{{"café au lait", "", 1}, {"plain tea", "", 0}, {"crème brûlée", "", 1}}
		if !slices.Equal(set.Examples, want) || len(set.Malformed) != 0 || !slices.Equal(names, []string{"neg", "pos"}) {
			t.Errorf("%s: examples %#v malformed %v names %v", enc, set.Examples, set.Malformed, names)
		}
	}
	if _, _, err := LoadCustom(CustomSpec{Path: p, TextA: "text", Label: "label", Encoding: "cp1252"}); err == nil || !strings.Contains(err.Error(), `"cp1252"`) || !strings.Contains(err.Error(), "latin1") {
		t.Errorf("unknown encoding error = %v", err)
	}
	// A Latin-1 header is named as such.
	h := writeFile(t, filepath.Join(t.TempDir(), "h.tsv"), "r\xe9sum\xe9\tlabel\nx\t1\n")
	if _, _, err := LoadCustom(CustomSpec{Path: h, TextA: "résumé", Label: "label"}); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("latin-1 header error = %v", err)
	}
	if set, _, err := LoadCustom(CustomSpec{Path: h, TextA: "résumé", Label: "label", Encoding: "latin1"}); err != nil || len(set.Examples) != 1 {
		t.Errorf("latin-1 header, encoding latin1: %v %+v", err, set)
	}
}

// A CSV-style quoted field holding a tab is parsed; a row that has the wrong
// column count either way is malformed with a reason; quotes in a row whose
// plain split fits are text.
func TestLoadCustomQuotes(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "q.tsv"),
		"text\tlabel\n"+
			"\"tab\tinside, \"\"quoted\"\"\"\tpos\n"+ // line 2: quoted, parsed
			"\"never closed\tstill\tneg\n"+ // line 3: 3 columns; quote not closed
			"\"closed\" early\tx\tneg\n"+ // line 4: 3 columns; quote followed by text
			"\"Hello,\" she said\tneg\n"+ // line 5: plain split fits: quotes are text
			"a\t\"b\tc\"\tpos\n") // line 6: 4 columns; quoted reading has 3
	set, names, err := LoadCustom(CustomSpec{Path: p, TextA: "text", Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{{"tab\tinside, \"quoted\"", "", 1}, {"\"Hello,\" she said", "", 0}}
	if !slices.Equal(set.Examples, want) {
		t.Errorf("examples = %#v, want %#v (names %v)", set.Examples, want, names)
	}
	var lines []int
	for _, m := range set.Malformed {
		lines = append(lines, m.Line)
	}
	if !slices.Equal(lines, []int{3, 4, 6}) {
		t.Fatalf("malformed = %+v, want lines 3, 4, 6", set.Malformed)
	}
	if r := set.Malformed[0].Reason; !strings.Contains(r, "got 3 tab-separated columns, want 2") || !strings.Contains(r, "not closed") {
		t.Errorf("line 3 reason = %q", r)
	}
	if r := set.Malformed[1].Reason; !strings.Contains(r, "followed by") {
		t.Errorf("line 4 reason = %q", r)
	}
	if r := set.Malformed[2].Reason; !strings.Contains(r, "got 4 tab-separated columns, want 2; read with CSV-style double quotes: 3 columns") {
		t.Errorf("line 6 reason = %q", r)
	}
}

func TestLoadCustomJSONL(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "data.jsonl"),
		`{"text": "good \"film\"\ttabbed", "label": "pos", "id": 1}`+"\n"+ // line 1
			"\n"+ // line 2: blank, skipped
			`{"text": "bad", "label": "neg"}`+"\n"+ // line 3 (no id: not required)
			`{"text": "broken", "label": `+"\n"+ // line 4: not JSON
			`{"text": "no label"}`+"\n"+ // line 5: missing key
			`{"text": ["list"], "label": "neg"}`+"\n"+ // line 6: array value
			`{"text": null, "label": "neg"}`+"\n"+ // line 7: null
			"{\"text\": \"caf\xe9\", \"label\": \"pos\"}\n"+ // line 8: Latin-1 byte
			`{"text": "numbers", "label": 1}`+"\r\n") // line 9: a number label
	set, names, err := LoadCustom(CustomSpec{Path: p, TextA: "text", Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{{"good \"film\"\ttabbed", "", 2}, {"bad", "", 1}, {"numbers", "", 0}}
	if !slices.Equal(set.Examples, want) || !slices.Equal(names, []string{"1", "neg", "pos"}) {
		t.Errorf("examples = %#v names %v, want %#v", set.Examples, names, want)
	}
	wantBad := map[int]string{4: "not a JSON object", 5: `"label"`, 6: "array", 7: `"text"`, 8: "UTF-8"}
	if len(set.Malformed) != len(wantBad) {
		t.Errorf("malformed = %+v, want lines 4-8", set.Malformed)
	}
	for _, m := range set.Malformed {
		if w, ok := wantBad[m.Line]; !ok || !strings.Contains(m.Reason, w) {
			t.Errorf("malformed line %d: %q, want a reason with %q", m.Line, m.Reason, w)
		}
	}
	set, _, err = LoadCustom(CustomSpec{Path: p, TextA: "text", Label: "label", Encoding: "latin1"})
	if err != nil || len(set.Examples) != 4 || set.Examples[2].TextA != "café" {
		t.Errorf("latin1 jsonl: %v %#v", err, set)
	}
	// A key missing from the first object is an error listing the keys.
	_, _, err = LoadCustom(CustomSpec{Path: p, TextA: "sentence", Label: "label"})
	if err == nil || !strings.Contains(err.Error(), `"sentence"`) || !strings.Contains(err.Error(), `"id"`) {
		t.Errorf("missing key error = %v", err)
	}
	empty := writeFile(t, filepath.Join(t.TempDir(), "e.jsonl"), "\nnot json\n")
	if _, _, err := LoadCustom(CustomSpec{Path: empty, TextA: "text", Label: "label"}); err == nil || !strings.Contains(err.Error(), "no line is a JSON object") {
		t.Errorf("no-object error = %v", err)
	}
}

// CheckCustom reads only the header: it finds a wrong column at once and does
// not look at the rows.
func TestCheckCustom(t *testing.T) {
	dir := t.TempDir()
	rows := "text\tlabel\n" + strings.Repeat("only one column\n", 1000)
	p := writeFile(t, filepath.Join(dir, "d.tsv"), rows)
	cols, err := CheckCustom(CustomSpec{Path: p, TextA: "text", Label: "label"})
	if err != nil || !slices.Equal(cols, []string{"text", "label"}) {
		t.Errorf("CheckCustom = %v, %v", cols, err)
	}
	_, err = CheckCustom(CustomSpec{Path: p, TextA: "sentence", Label: "label"})
	if err == nil || !strings.Contains(err.Error(), `"sentence"`) || !strings.Contains(err.Error(), p) {
		t.Errorf("wrong column: %v", err)
	}
	if _, err := CheckCustom(CustomSpec{Path: filepath.Join(dir, "none.tsv"), TextA: "a", Label: "b"}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := CheckCustom(CustomSpec{Path: p, TextA: "text", Label: "label", Encoding: "ebcdic"}); err == nil || !strings.Contains(err.Error(), "ebcdic") {
		t.Errorf("bad encoding: %v", err)
	}
	j := writeFile(t, filepath.Join(dir, "d.jsonl"), "\n{\"q\": \"a\", \"y\": 1}\n{broken\n")
	if cols, err := CheckCustom(CustomSpec{Path: j, TextA: "q", Label: "y"}); err != nil || !slices.Equal(cols, []string{"q", "y"}) {
		t.Errorf("jsonl: %v, %v", cols, err)
	}
	if _, err := CheckCustom(CustomSpec{Path: j, TextA: "text", Label: "y"}); err == nil || !strings.Contains(err.Error(), `"q"`) {
		t.Errorf("jsonl wrong key: %v", err)
	}
}
