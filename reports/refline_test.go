package reports

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// toyLine is a method the test describes as a reference line, labelled as the bag-of-words model is.
const toyLine = "toy-line"

func init() {
	method.Describe(toyLine, method.Display{Label: "bag-of-words LR", Order: 5, ReferenceLine: true})
}

// lineRecords are runs of the reference-line method on MRPC (two seeds: 0.75 and 0.77) and on SST-2 (0.7; no
// metric f1), none on the third task.
func lineRecords() []results.Record {
	var out []results.Record
	for i, r := range []struct {
		task string
		seed uint64
		acc  float64
	}{{"mrpc", 1, 0.75}, {"mrpc", 2, 0.77}, {"sst2", 1, 0.7}} {
		out = append(out, results.Record{RunID: "line" + string(rune('a'+i)), Experiment: "unseen", Task: r.task, Method: toyLine,
			Seed: r.seed, Preset: "nano", MaxTrain: 100, Epsilon: math.NaN(), Metrics: map[string]float64{"accuracy": r.acc},
			Extra: map[string]float64{"majority_accuracy": 0.68}, GitCommit: "0123456789abcdef0123",
			Costs: []method.Cost{{Phase: method.PhasePrivateTuning, CloudSeconds: 0.2, Units: 40, UnitName: "L-BFGS iterations"},
				{Phase: method.PhasePrivateInference, CloudSeconds: 0.01, Units: 100, UnitName: "examples"}}})
	}
	return out
}

// drawnStrings draws fig on a recording canvas and returns the texts it wrote and whether it stroked anything
// in the first reference-line colour.
func drawnStrings(t *testing.T, fig figure) (texts []string, lineColour bool) {
	t.Helper()
	rec := new(recorder.Canvas)
	fig.draw(draw.NewCanvas(rec, fig.width, fig.height))
	colour := false
	for _, a := range rec.Actions {
		switch a := a.(type) {
		case *recorder.FillString:
			texts = append(texts, a.String)
		case *recorder.SetColor:
			colour = sameColor(a.Color, referenceLineStyles[0].Color)
		case *recorder.Stroke:
			lineColour = lineColour || colour
		}
	}
	return texts, lineColour
}

// TestReferenceLine: a method described as a reference line (the bag-of-words model) is drawn as a horizontal
// line at its mean dev score on the accuracy figures of the tasks it has results for, labelled with its name in
// the legend, the caption and the note; tasks without its results, or a metric it lacks, get no line; it is not
// the cost reference.
func TestReferenceLine(t *testing.T) {
	records := append(unseenRecords(), lineRecords()...)
	settings := buildSettings(records)
	lines := referenceLines(settings, "mrpc", "accuracy")
	if len(lines) != 1 || math.Abs(lines[0].value-0.76) > 1e-12 || lines[0].label != "bag-of-words LR" ||
		math.Abs(lines[0].fn.F(7)-0.76) > 1e-12 || lines[0].fn.LineStyle.Color != referenceLineStyles[0].Color {
		t.Fatalf("MRPC reference lines %+v, want one at 0.76 labelled bag-of-words LR", lines)
	}
	if l := referenceLines(settings, "zzz-task", "accuracy"); len(l) != 0 {
		t.Errorf("a task without the method's runs has reference lines %+v", l)
	}
	if l := referenceLines(settings, "mrpc", "f1"); len(l) != 0 {
		t.Errorf("a metric the runs lack has reference lines %+v", l)
	}

	fig, caption, missing := opts2Figure(settings, "mrpc", "MRPC accuracy", "")
	if missing != "" || !strings.Contains(caption, "bag-of-words LR 0.760") || !strings.Contains(caption, "majority class 0.680") {
		t.Errorf("opts2 caption %q (missing %q): want the bag-of-words line and the majority class", caption, missing)
	}
	texts, drawn := drawnStrings(t, fig)
	if !drawn || !slices.Contains(texts, "bag-of-words LR (0.760)") {
		t.Errorf("opts2 figure: line drawn %v, legend texts %q", drawn, texts)
	}
	if !slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(s, "Dash-dotted") }) {
		t.Errorf("the note does not explain the dash-dotted line: %q", texts)
	}
	fig, caption, _ = opts2Figure(settings, "zzz-task", "other", "")
	if texts, drawn := drawnStrings(t, fig); drawn || strings.Contains(caption, "bag-of-words") || slices.Contains(texts, "bag-of-words LR (0.760)") {
		t.Errorf("a task without the method's runs draws its line: caption %q", caption)
	}

	// The privacy figure draws it on the panels of tasks that have it.
	attacked := fixtureRecords()
	i := slices.IndexFunc(attacked, func(r results.Record) bool { return r.Task == "sst2" && r.Method == "plaintext" })
	line := attacked[i] // the same run settings as the fixture's, so that its label has no variant
	line.RunID, line.Method, line.Label, line.Params, line.Tags, line.Attacks = "line-sst2", toyLine, "", map[string]any{}, map[string]string{}, nil
	line.Metrics = map[string]float64{"accuracy": 0.7}
	attacked = append(attacked, line)
	fig, _, missing = privacyFigure(buildSettings(attacked), "privacy", "")
	if missing != "" {
		t.Fatal(missing)
	}
	if texts, drawn := drawnStrings(t, fig); !drawn || !slices.Contains(texts, "bag-of-words LR") {
		t.Errorf("privacy figure: line drawn %v, texts %q", drawn, texts)
	}

	// Its costs are bars like any method's: the reference of the time figures stays the reference method.
	if method.IsReference(toyLine) {
		t.Error("a reference line is the cost reference")
	}
	idx, err := Render(records, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	md := readFile(t, filepath.Join(idx.Dir, "index.md"))
	if !strings.Contains(md, "| MRPC | bag-of-words LR |") {
		t.Errorf("the summary table has no bag-of-words row:\n%s", md)
	}
}
