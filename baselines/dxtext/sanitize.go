package dxtext

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/operators"
)

// Sanitizer replaces tokens by dχ-privatised ones: for an occurrence of token w it draws z = φ(w) + r·u with
// the operators' dx-fixp noise (u uniform on the unit sphere, r ~ Gamma(d, s_E/ε): density ∝ exp(−ε‖z−φ(w)‖/s_E),
// metric DP with distance ‖φ(w)−φ(w')‖/s_E), freshly per occurrence, and outputs the candidate token whose
// embedding is nearest to z in L2 (Feyisetan et al. 2020). φ is the public model's token table; the candidates
// are every vocabulary entry but the bracketed placeholders ([PAD], [CLS], [unused17], …), which are not words;
// special tokens ([PAD], [UNK], [CLS], [SEP], [MASK]) are kept as they are.
type Sanitizer struct {
	epsilon    float64
	d          int
	se         float64
	table      []float32 // the public table [V×d]
	special    []bool
	candidates []int32
	candRows   []float32 // candidates' rows [C×d]
	candNorms  []float32 // ‖row‖² of each candidate
}

// NewSanitizer prepares a sanitizer at metric-DP epsilon (per token, in units of s_E, the standard deviation of
// all entries of table; +Inf adds no noise) for a V×d table and the tokenizer's vocabulary.
func NewSanitizer(tok *wordpiece.Tokenizer, table []float32, V, d int, epsilon float64) (*Sanitizer, error) {
	if !(epsilon > 0) {
		return nil, fmt.Errorf("dx-text: epsilon = %v, want a positive number", epsilon)
	}
	if tok.VocabSize() != V {
		return nil, fmt.Errorf("dx-text: the tokenizer has %d ids, the table %d rows", tok.VocabSize(), V)
	}
	se, err := operators.StdAll(table, V, d)
	if err != nil {
		return nil, fmt.Errorf("dx-text: %w", err)
	}
	s := &Sanitizer{epsilon: epsilon, d: d, se: se, table: table, special: make([]bool, V)}
	for _, id := range tok.SpecialIDs() {
		s.special[id] = true
	}
	for id := range int32(V) {
		w := tok.Token(id)
		if strings.HasPrefix(w, "[") && strings.HasSuffix(w, "]") {
			continue
		}
		row := table[int(id)*d : (int(id)+1)*d]
		var n float64
		for _, x := range row {
			n += float64(x) * float64(x)
		}
		s.candidates = append(s.candidates, id)
		s.candRows = append(s.candRows, row...)
		s.candNorms = append(s.candNorms, float32(n))
	}
	if len(s.candidates) == 0 {
		return nil, fmt.Errorf("dx-text: the vocabulary has no candidate tokens")
	}
	return s, nil
}

// SE is s_E, the noise unit.
func (s *Sanitizer) SE() float64 { return s.se }

// Candidates is the number of tokens an occurrence can be replaced by.
func (s *Sanitizer) Candidates() int { return len(s.candidates) }

// NoiseSeed is the dx-fixp sub-seed of one purpose ("train", "inference") of a run.
func NoiseSeed(seed uint64, purpose string) [32]byte {
	h := sha256.New()
	h.Write([]byte("cyphertalk/dx-text/noise/v1/" + purpose))
	_ = binary.Write(h, binary.BigEndian, seed)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// Sanitize returns a copy of ids with every non-special token replaced, and how many occurrences were
// perturbed and how many of them changed. Occurrence j (counting non-special ids in order) draws its noise from
// the dx-fixp row stream of seed at row j, so the output is a function of (ids, seed).
func (s *Sanitizer) Sanitize(ids []int32, seed [32]byte) (out []int32, perturbed, changed int, err error) {
	out = append([]int32(nil), ids...)
	var pos []int
	for i, id := range ids {
		if int(id) < 0 || int(id) >= len(s.special) {
			return nil, 0, 0, fmt.Errorf("dx-text: token id %d outside the vocabulary of %d", id, len(s.special))
		}
		if !s.special[id] {
			pos = append(pos, i)
		}
	}
	if len(pos) == 0 {
		return out, 0, 0, nil
	}
	if len(pos) > math.MaxInt32 {
		return nil, 0, 0, fmt.Errorf("dx-text: %d occurrences in one call", len(pos))
	}
	d := s.d
	z := make([]float32, len(pos)*d)
	for j, i := range pos {
		copy(z[j*d:(j+1)*d], s.table[int(ids[i])*d:(int(ids[i])+1)*d])
	}
	if !math.IsInf(s.epsilon, 1) {
		if err := (operators.DXFixp{Epsilon: s.epsilon}).Apply(operators.Table{Data: z, V: len(pos), D: d},
			operators.Context{Seed: seed, SE: s.se}); err != nil {
			return nil, 0, 0, fmt.Errorf("dx-text: drawing the noise: %w", err)
		}
	}
	nearest := s.nearest(z, len(pos))
	for j, i := range pos {
		if nearest[j] != out[i] {
			changed++
		}
		out[i] = nearest[j]
	}
	return out, len(pos), changed, nil
}

// nearestBlock is how many queries are scored against all candidates at once.
const nearestBlock = 128

// nearest returns, for each of the n rows of z [n×d], the candidate whose row is nearest in L2:
// argmin_c ‖e_c‖² − 2⟨z, e_c⟩, scores from float32 Gemm block by block.
func (s *Sanitizer) nearest(z []float32, n int) []int32 {
	d, C := s.d, len(s.candidates)
	out := make([]int32, n)
	scores := make([]float32, nearestBlock*C)
	cand := blas32.General{Rows: C, Cols: d, Stride: d, Data: s.candRows}
	for lo := 0; lo < n; lo += nearestBlock {
		rows := min(nearestBlock, n-lo)
		q := blas32.General{Rows: rows, Cols: d, Stride: d, Data: z[lo*d : (lo+rows)*d]}
		sc := blas32.General{Rows: rows, Cols: C, Stride: C, Data: scores[:rows*C]}
		blas32.Gemm(blas.NoTrans, blas.Trans, -2, q, cand, 0, sc)
		for r := range rows {
			row := scores[r*C : (r+1)*C]
			best, bestScore := 0, float32(math.Inf(1))
			for c, v := range row {
				if v += s.candNorms[c]; v < bestScore {
					best, bestScore = c, v
				}
			}
			out[lo+r] = s.candidates[best]
		}
	}
	return out
}

// SanitizeEncoded sanitises the ids of an encoded example set (segments, masks and labels unchanged) and returns
// the fraction of perturbed occurrences that changed.
func (s *Sanitizer) SanitizeEncoded(e *finetune.Encoded, seed [32]byte) (*finetune.Encoded, float64, error) {
	ids, perturbed, changed, err := s.Sanitize(e.IDs, seed)
	if err != nil {
		return nil, 0, err
	}
	out := *e
	out.IDs = ids
	return &out, float64(changed) / math.Max(float64(perturbed), 1), nil
}
