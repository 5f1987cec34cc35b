package attacks

import (
	"math"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestScorerTableByHand(t *testing.T) {
	// V = 10, special {0}; content words: 4 and 5.
	content := make([]bool, 10)
	content[4], content[5] = true, true
	truth := []int32{4, 4, 5, 6, 0, 7}
	uploads := []int32{9, 9, 8, 1, 0, 2} // π: 4→9, 5→8, 6→1, 7→2, 0→0
	sc, err := NewScorer(truth, 10, []int32{0}, content)
	if err != nil {
		t.Fatal(err)
	}
	g := newGuesses(10, 5)
	copy(g.Row(9), []int32{4, 1, 2, 3, 5}) // 4: top-1 (twice)
	copy(g.Row(8), []int32{1, 2, 3, 7, 5}) // 5: top-5, rank 4
	copy(g.Row(1), []int32{1, 2, 3, 7, 8}) // 6: miss
	copy(g.Row(2), []int32{1, 7})          // 7: rank 1 (NoGuess after)
	g.Row(0)[0] = 3                        // special: wrong, but not scored
	r, err := sc.Table("x", g, uploads)
	if err != nil {
		t.Fatal(err)
	}
	want := method.AttackResult{Attack: "x", Top1: 2.0 / 5, Top5: 4.0 / 5, ContentTop1: 2.0 / 3, ContentTop5: 1, Tokens: 5}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	if _, err := sc.Table("x", g, uploads[:3]); err == nil {
		t.Error("uploads and truth of different lengths were accepted")
	}
}

func TestScorerOccurrencesAndBaselines(t *testing.T) {
	truth := []int32{4, 4, 5, 6, 0, 7}
	sc, err := NewScorer(truth, 10, []int32{0, 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := newGuesses(len(truth), 1)
	copy(g.IDs, []int32{4, 5, 5, 6, 0, 1})
	r, err := sc.Occurrences("vec", g)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.Top1, 3.0/5) || !near(r.Top5, 3.0/5) || !math.IsNaN(r.ContentTop1) || r.Tokens != 5 {
		t.Errorf("occurrences: %+v", r)
	}
	rnd := sc.RandomBaseline()
	if rnd.Attack != NameRandom || !near(rnd.Top1, 1.0/8) || !near(rnd.Top5, 5.0/8) || rnd.Tokens != 5 {
		t.Errorf("random baseline: %+v", rnd)
	}
	counts := []int64{1000, 900, 1, 1, 50, 2, 40, 1, 1, 1} // specials 0, 1 are not guessed
	prior, err := sc.PriorBaseline(counts)
	if err != nil {
		t.Fatal(err)
	}
	// Guesses 4, 6, 5, 2, 3: 4 top-1 twice; 5 and 6 in the top 5; 7 missed.
	if prior.Attack != NameFrequencyPrior || !near(prior.Top1, 2.0/5) || !near(prior.Top5, 4.0/5) {
		t.Errorf("prior baseline: %+v", prior)
	}
}

func TestNewScorerRejectsBadInput(t *testing.T) {
	if _, err := NewScorer([]int32{10}, 10, nil, nil); err == nil {
		t.Error("a true id outside the vocabulary was accepted")
	}
	if _, err := NewScorer([]int32{1}, 10, []int32{-1}, nil); err == nil {
		t.Error("a negative special id was accepted")
	}
	if _, err := NewScorer([]int32{1}, 10, nil, make([]bool, 9)); err == nil {
		t.Error("a content mask of the wrong size was accepted")
	}
}
