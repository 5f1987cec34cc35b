package attacks

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// quiet is the default options with logging off.
var quiet = AlignOptions{Log: slog.New(slog.DiscardHandler)}

func names(rs []method.AttackResult) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Attack
	}
	return out
}

func TestEvaluateRunsEveryAttack(t *testing.T) {
	const v, d = 400, 16
	z := newZipf(v, 1)
	sc := shaken(t, randomTable(v, d, 3), v, d, z.counts(v, 1e5), z.sample(3000, 2), "tilt:angle=0.2", true, 4)
	content := make([]bool, v)
	for id := 5; id < v; id += 2 {
		content[id] = true
	}
	scorer, err := NewScorer(sc.truth, v, testSpecial, content)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(context.Background(), sc.pub, sc.obs, scorer, quiet)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{NameNNCosine, NameNNL2, NameAlignment, NameFrequency, NameFrequencyAlignment, NameRandom, NameFrequencyPrior}
	if !slices.Equal(names(res), want) {
		t.Fatalf("attacks %v, want %v", names(res), want)
	}
	for _, r := range res {
		if r.Tokens != scorer.Tokens() || math.IsNaN(r.Top1) || math.IsNaN(r.ContentTop5) || r.Top5 < r.Top1 {
			t.Errorf("%+v", r)
		}
	}
	if res[2].Top1 < 0.99 || res[4].Top1 < res[2].Top1 {
		t.Errorf("a mild tilt: alignment %.3f, frequency+alignment %.3f", res[2].Top1, res[4].Top1)
	}

	sc.pub.Counts = nil // no public statistics: no frequency attacks, no prior
	res, err = Evaluate(context.Background(), sc.pub, sc.obs, scorer, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{NameNNCosine, NameNNL2, NameAlignment, NameRandom}; !slices.Equal(names(res), want) {
		t.Fatalf("without counts: attacks %v, want %v", names(res), want)
	}
}

func TestEvaluateVectors(t *testing.T) {
	const v, d = 300, 8
	table := randomTable(v, d, 3)
	truth := []int32{7, 8, 9, 0, 7}
	vectors := make([]float32, 0, len(truth)*d)
	for _, id := range truth {
		vectors = append(vectors, table[int(id)*d:int(id+1)*d]...)
	}
	scorer, err := NewScorer(truth, v, testSpecial, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := EvaluateVectors(context.Background(), Public{Table: table, V: v, D: d, Special: testSpecial}, vectors, scorer, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{NameNNCosine, NameNNL2, NameRandom}; !slices.Equal(names(res), want) {
		t.Fatalf("attacks %v, want %v", names(res), want)
	}
	if res[0].Top1 != 1 || res[1].Top1 != 1 || res[0].Tokens != 4 {
		t.Errorf("exact vectors: %+v", res[:2])
	}
}

func TestAttacksRejectBadInput(t *testing.T) {
	ctx := context.Background()
	table := randomTable(20, 4, 1)
	pub := Public{Table: table, V: 20, D: 4, Counts: make([]int64, 20), Special: []int32{0}}
	nan := slices.Clone(table)
	nan[5] = float32(math.NaN())
	for name, tc := range map[string]struct {
		pub Public
		obs Observed
	}{
		"short observed table": {pub, Observed{Table: table[:40], Uploads: []int32{1}}},
		"upload out of range":  {pub, Observed{Table: table, Uploads: []int32{20}}},
		"NaN in the table":     {pub, Observed{Table: nan, Uploads: []int32{1}}},
		"counts of wrong size": {Public{Table: table, V: 20, D: 4, Counts: make([]int64, 3)}, Observed{Table: table}},
		"special out of range": {Public{Table: table, V: 20, D: 4, Special: []int32{20}}, Observed{Table: table}},
	} {
		if _, err := NearestNeighbour(ctx, tc.pub, tc.obs, Cosine, 5); err == nil {
			t.Errorf("%s: nearest neighbour accepted it", name)
		}
		if _, _, err := AlignmentAttack(ctx, tc.pub, tc.obs, 5, AlignOptions{}); err == nil {
			t.Errorf("%s: alignment accepted it", name)
		}
	}
	if _, err := NearestNeighbour(ctx, pub, Observed{Table: table}, Cosine, 0); err == nil {
		t.Error("k = 0 was accepted")
	}
}
