package attacks

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// NoGuess fills the guess slots of rows an attack was not asked about (or has fewer than k candidates for).
const NoGuess int32 = -1

// Public is what the cloud knows without the key: the public model's token-embedding table and public text
// statistics.
type Public struct {
	// Table is E, V×D row-major.
	Table []float32
	V, D  int
	// Counts[id] is how often id occurs in public text (e.g. Brown, tokenised with the public vocabulary);
	// nil when the cloud has no statistics (the frequency attacks then refuse to run).
	Counts []int64
	// Special are the ids never moved by π and never perturbed ([PAD] [UNK] [CLS] [SEP] [MASK]).
	Special []int32
}

// Observed is what the cloud sees of one client.
type Observed struct {
	// Table is E_s, V×D row-major, in the same shape as Public.Table: row j is the shaken row of the original
	// id π⁻¹(j).
	Table []float32
	// Uploads are the π-ids the client sent, flattened, padding excluded.
	Uploads []int32
}

// Guesses are an attack's answers: for each observed row (a π-id for table attacks, an upload position for
// per-occurrence attacks) its K best guesses of the original id, best first; NoGuess where there is none.
type Guesses struct {
	K   int
	IDs []int32 // Rows()×K, row-major
}

func newGuesses(rows, k int) Guesses {
	g := Guesses{K: k, IDs: make([]int32, rows*k)}
	for i := range g.IDs {
		g.IDs[i] = NoGuess
	}
	return g
}

// Rows is the number of rows guessed about.
func (g Guesses) Rows() int {
	if g.K == 0 {
		return 0
	}
	return len(g.IDs) / g.K
}

// Row returns row r's guesses, best first (a slice aliasing IDs).
func (g Guesses) Row(r int) []int32 { return g.IDs[r*g.K : (r+1)*g.K] }

func (p Public) validate() error {
	if p.V <= 0 || p.D <= 0 {
		return fmt.Errorf("public table shape %d×%d must be positive", p.V, p.D)
	}
	if len(p.Table) != p.V*p.D {
		return fmt.Errorf("public table has %d values, want V×d = %d×%d", len(p.Table), p.V, p.D)
	}
	if p.Counts != nil && len(p.Counts) != p.V {
		return fmt.Errorf("public counts have %d entries, want V = %d", len(p.Counts), p.V)
	}
	for _, c := range p.Counts {
		if c < 0 {
			return errors.New("public counts must be non-negative")
		}
	}
	for _, id := range p.Special {
		if id < 0 || int(id) >= p.V {
			return fmt.Errorf("special id %d outside the vocabulary [0, %d)", id, p.V)
		}
	}
	if err := checkFinite(p.Table); err != nil {
		return fmt.Errorf("public table: %w", err)
	}
	return nil
}

// validateObserved checks the uploads, and the shaken table when the attack reads it.
func (p Public) validateObserved(o Observed, needTable bool) error {
	if err := p.validate(); err != nil {
		return err
	}
	if needTable {
		if len(o.Table) != p.V*p.D {
			return fmt.Errorf("observed table has %d values, want V×d = %d×%d like the public one", len(o.Table), p.V, p.D)
		}
		if err := checkFinite(o.Table); err != nil {
			return fmt.Errorf("observed table: %w", err)
		}
	}
	return checkIDs("upload", o.Uploads, p.V)
}

func checkIDs(what string, ids []int32, v int) error {
	for i, id := range ids {
		if id < 0 || int(id) >= v {
			return fmt.Errorf("%s %d at position %d outside the vocabulary [0, %d)", what, id, i, v)
		}
	}
	return nil
}

func checkFinite(x []float32) error {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("value %v at index %d is not finite", v, i)
		}
	}
	return nil
}

func (p Public) specialMask() []bool {
	m := make([]bool, p.V)
	for _, id := range p.Special {
		m[id] = true
	}
	return m
}

// nonSpecial lists the ids that are not special, ascending.
func nonSpecial(special []bool) []int32 {
	out := make([]int32, 0, len(special))
	for id, s := range special {
		if !s {
			out = append(out, int32(id))
		}
	}
	return out
}

// uploadCounts counts each id in uploads.
func uploadCounts(uploads []int32, v int) []int64 {
	c := make([]int64, v)
	for _, id := range uploads {
		c[id]++
	}
	return c
}

// queryRows lists the non-special rows an attack must guess: those uploaded at least once, or every non-special
// row when there are no uploads.
func queryRows(uploads []int32, special []bool) []int32 {
	if len(uploads) == 0 {
		return nonSpecial(special)
	}
	seen := make([]bool, len(special))
	for _, id := range uploads {
		seen[id] = true
	}
	out := make([]int32, 0)
	for id, s := range seen {
		if s && !special[id] {
			out = append(out, int32(id))
		}
	}
	return out
}

// byCountDesc returns ids sorted by count, most frequent first, ties by ascending id.
func byCountDesc(ids []int32, counts []int64) []int32 {
	out := slices.Clone(ids)
	slices.SortStableFunc(out, func(a, b int32) int {
		switch {
		case counts[a] > counts[b]:
			return -1
		case counts[a] < counts[b]:
			return 1
		}
		return 0
	})
	return out
}

// guessSpecialsAsThemselves sets the first guess of every special row of a table attack's guesses.
func guessSpecialsAsThemselves(g Guesses, special []bool) {
	for id, s := range special {
		if s {
			g.Row(id)[0] = int32(id)
		}
	}
}

func checkK(k int) error {
	if k <= 0 {
		return fmt.Errorf("k = %d guesses per row must be positive", k)
	}
	return nil
}
