package attacks

import (
	"errors"
	"fmt"
	"math"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// Attack names as results record them (method.AttackResult.Attack).
const (
	NameNNCosine           = "nn-cosine"
	NameNNL2               = "nn-l2"
	NameFrequency          = "frequency"
	NameAlignment          = "alignment"
	NameFrequencyAlignment = "frequency+alignment"
	// NameRandom is the analytic baseline of guessing uniformly among the non-special ids.
	NameRandom = "random"
	// NameFrequencyPrior is the baseline of guessing the most frequent public tokens for every upload,
	// whatever was sent.
	NameFrequencyPrior = "frequency-prior"
)

// Scorer scores guesses against the client's real tokens: the token recovery rate, weighted by occurrence
// (a token uploaded ten times counts ten times), top-1 (the first guess is right) and top-5 (one of the first
// five is), over every non-special upload and over content words only. Special tokens are left out of every
// rate: the cloud knows them without attacking.
type Scorer struct {
	truth   []int32 // original id of every upload
	special []bool
	content []bool // nil: content rates are NaN
	v       int
}

// NewScorer checks and keeps the ground truth: truth[i] is the original id of upload i (π⁻¹ of the π-id sent,
// computed with the key), v the vocabulary size, special the special ids, content[id] whether id is a content
// word (ContentMask; nil when unknown).
func NewScorer(truth []int32, v int, special []int32, content []bool) (*Scorer, error) {
	if v <= 0 {
		return nil, fmt.Errorf("scorer: vocabulary size %d must be positive", v)
	}
	if err := checkIDs("true id", truth, v); err != nil {
		return nil, fmt.Errorf("scorer: %w", err)
	}
	if err := checkIDs("special id", special, v); err != nil {
		return nil, fmt.Errorf("scorer: %w", err)
	}
	if content != nil && len(content) != v {
		return nil, fmt.Errorf("scorer: content mask has %d entries, want %d", len(content), v)
	}
	s := &Scorer{truth: truth, special: make([]bool, v), content: content, v: v}
	for _, id := range special {
		s.special[id] = true
	}
	return s, nil
}

// Tokens is the number of scored (non-special) upload occurrences.
func (s *Scorer) Tokens() int {
	n := 0
	for _, id := range s.truth {
		if !s.special[id] {
			n++
		}
	}
	return n
}

// Table scores a table attack's guesses (rows indexed by π-id): upload i was sent as uploads[i] and is
// recovered when the guesses of row uploads[i] hold truth[i].
func (s *Scorer) Table(attack string, g Guesses, uploads []int32) (method.AttackResult, error) {
	if len(uploads) != len(s.truth) {
		return method.AttackResult{}, fmt.Errorf("scoring %s: %d uploads, %d true ids", attack, len(uploads), len(s.truth))
	}
	if err := checkIDs("upload", uploads, g.Rows()); err != nil {
		return method.AttackResult{}, fmt.Errorf("scoring %s: guesses have %d rows: %w", attack, g.Rows(), err)
	}
	return s.score(attack, g, func(i int) int { return int(uploads[i]) })
}

// Occurrences scores a per-occurrence attack's guesses: row i guesses upload i.
func (s *Scorer) Occurrences(attack string, g Guesses) (method.AttackResult, error) {
	if g.Rows() != len(s.truth) {
		return method.AttackResult{}, fmt.Errorf("scoring %s: %d rows of guesses for %d uploads", attack, g.Rows(), len(s.truth))
	}
	return s.score(attack, g, func(i int) int { return i })
}

func (s *Scorer) score(attack string, g Guesses, row func(i int) int) (method.AttackResult, error) {
	if g.K <= 0 {
		return method.AttackResult{}, errors.New("scoring " + attack + ": guesses have no columns")
	}
	var t tally
	for i, truth := range s.truth {
		if s.special[truth] {
			continue
		}
		guesses := g.Row(row(i))
		t.add(rankOf(truth, guesses[:min(5, len(guesses))]), s.isContent(truth))
	}
	return t.result(attack, s.content != nil), nil
}

// RandomBaseline is the expected recovery of guessing, for every upload, five distinct ids drawn uniformly from
// the non-special ids (top-1: 1/n, top-5: 5/n for n non-special ids; the same for content words).
func (s *Scorer) RandomBaseline() method.AttackResult {
	n := 0
	for _, sp := range s.special {
		if !sp {
			n++
		}
	}
	top1, top5 := math.NaN(), math.NaN()
	if n > 0 {
		top1, top5 = 1/float64(n), float64(min(5, n))/float64(n)
	}
	r := method.AttackResult{Attack: NameRandom, Top1: top1, Top5: top5, ContentTop1: math.NaN(), ContentTop5: math.NaN(), Tokens: s.Tokens()}
	if s.content != nil && s.contentTokens() > 0 {
		r.ContentTop1, r.ContentTop5 = top1, top5
	}
	return r
}

// PriorBaseline scores guessing the five most frequent non-special public ids (by counts, ties by ascending
// id) for every upload: what public statistics give without looking at anything the client sent.
func (s *Scorer) PriorBaseline(counts []int64) (method.AttackResult, error) {
	if len(counts) != s.v {
		return method.AttackResult{}, fmt.Errorf("prior baseline: %d counts, want %d", len(counts), s.v)
	}
	top := byCountDesc(nonSpecial(s.special), counts)
	top = top[:min(5, len(top))]
	var t tally
	for _, truth := range s.truth {
		if !s.special[truth] {
			t.add(rankOf(truth, top), s.isContent(truth))
		}
	}
	return t.result(NameFrequencyPrior, s.content != nil), nil
}

func (s *Scorer) isContent(id int32) bool { return s.content != nil && s.content[id] }

func (s *Scorer) contentTokens() int {
	n := 0
	for _, id := range s.truth {
		if !s.special[id] && s.isContent(id) {
			n++
		}
	}
	return n
}

// rankOf is the 0-based position of id among guesses, or −1.
func rankOf(id int32, guesses []int32) int {
	for r, g := range guesses {
		if g == id {
			return r
		}
	}
	return -1
}

type tally struct{ n, top1, top5, cn, ctop1, ctop5 int }

func (t *tally) add(rank int, content bool) {
	t.n++
	hit1, hit5 := rank == 0, rank >= 0 && rank < 5
	t.top1 += b2i(hit1)
	t.top5 += b2i(hit5)
	if content {
		t.cn++
		t.ctop1 += b2i(hit1)
		t.ctop5 += b2i(hit5)
	}
}

func (t tally) result(attack string, haveContent bool) method.AttackResult {
	r := method.AttackResult{Attack: attack, Top1: ratio(t.top1, t.n), Top5: ratio(t.top5, t.n),
		ContentTop1: math.NaN(), ContentTop5: math.NaN(), Tokens: t.n}
	if haveContent {
		r.ContentTop1, r.ContentTop5 = ratio(t.ctop1, t.cn), ratio(t.ctop5, t.cn)
	}
	return r
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
