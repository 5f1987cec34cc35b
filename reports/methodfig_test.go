package reports

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// figureByName returns the index's figure called name, or nil.
func figureByName(idx *Index, name string) *Figure {
	i := slices.IndexFunc(idx.Figures, func(f Figure) bool { return f.Name == name })
	if i < 0 {
		return nil
	}
	return &idx.Figures[i]
}

// TestAccuracyByMethod: records without shaking runs (plaintext at two table settings and the bag-of-words
// model, on SST-2 and QQP) get one accuracy-by-method figure per task, with the means (± sd over the two seeds)
// in the caption and the bars' values and the majority class in the figure, and opts2 is left out; records with
// shaking runs at single operator settings keep opts2 and leave the accuracy-by-method figure out.
func TestAccuracyByMethod(t *testing.T) {
	var records []results.Record
	for _, r := range fixtureRecords() {
		if r.Method == "plaintext" {
			r.Extra = map[string]float64{"majority_accuracy": 0.51}
			r.Attacks = nil
			records = append(records, r)
		}
	}
	// The bag-of-words model, one seed on each task (SST-2 0.7, QQP 0.75), with the plaintext runs' settings so
	// that its label has no variant.
	for i, acc := range map[string]float64{"sst2": 0.7, "qqp": 0.75} {
		j := slices.IndexFunc(records, func(r results.Record) bool { return r.Task == i })
		line := records[j]
		line.RunID, line.Method, line.Label, line.Params, line.Tags, line.Attacks = "line-"+i, toyLine, "", map[string]any{}, map[string]string{}, nil
		line.Metrics = map[string]float64{"accuracy": acc}
		records = append(records, line)
	}

	dir := t.TempDir()
	idx, err := Render(records, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		// Fixture plaintext SST-2: trainable 0.82 and 0.83, frozen 0.78 and 0.79; QQP 0.74/0.75 and 0.70/0.71.
		"accuracy":     {"Dev accuracy on SST-2", "plaintext, trainable table 0.825 ± 0.007", "plaintext, frozen table 0.785 ± 0.007", "bag-of-words LR 0.700 (1 seed)", "majority class 0.510"},
		"accuracy-qqp": {"Dev accuracy on QQP", "plaintext, trainable table 0.745 ± 0.007", "bag-of-words LR 0.750 (1 seed)"},
	} {
		f := figureByName(idx, name)
		if f == nil {
			t.Fatalf("no figure %s among %+v", name, idx.Figures)
		}
		if f.Missing != "" {
			t.Errorf("%s is a placeholder: %s", name, f.Missing)
		}
		for _, w := range want {
			if !strings.Contains(f.Caption, w) {
				t.Errorf("%s caption %q lacks %q", name, f.Caption, w)
			}
		}
		for _, file := range []string{f.PNG, f.SVG} {
			if st, err := os.Stat(filepath.Join(dir, file)); err != nil || st.Size() == 0 {
				t.Errorf("%s: %v", file, err)
			}
		}
	}
	if f := figureByName(idx, "opts2"); f != nil {
		t.Errorf("opts2 drawn for records without shaking runs: %+v", f)
	}
	if !slices.Contains(idx.Missing, "opts2: no shaking runs: see accuracy by method") {
		t.Errorf("the index does not say why opts2 is left out: %q", idx.Missing)
	}
	fig, _, _ := accuracyFigure(buildSettings(records), "sst2", "SST-2", "")
	texts, _ := drawnStrings(t, fig)
	for _, w := range []string{"plaintext, trainable table", "bag-of-words LR", "0.825 ± 0.007", "0.700", "majority class (0.510)",
		"dev accuracy (mean ± sd over seeds)"} {
		if !slices.Contains(texts, w) {
			t.Errorf("the SST-2 figure does not write %q: %q", w, texts)
		}
	}

	// With shaking runs: opts2 as before, no accuracy-by-method figure.
	idx, err = Render(fixtureRecords(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f := figureByName(idx, "opts2"); f == nil || f.Missing != "" {
		t.Errorf("opts2 with shaking runs: %+v", f)
	}
	if f := figureByName(idx, "accuracy"); f != nil {
		t.Errorf("accuracy by method drawn beside opts2: %+v", f)
	}
	if len(idx.Missing) != 0 {
		t.Errorf("missing %q: a figure drawn in place of opts2 is not missing data", idx.Missing)
	}
	if why := figureTable[slices.IndexFunc(figureTable, func(d figureDef) bool { return d.name == "accuracy" })].leftOut(buildSettings(fixtureRecords())); why == "" {
		t.Error("accuracy by method is not left out beside shaking runs")
	}
}
