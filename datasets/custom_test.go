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
