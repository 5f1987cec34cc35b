package shaking

import (
	stdctx "context"
	"fmt"
	"math"
	"runtime"
	"sync"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/cyphertalk/cyphertalk-go/models"
)

// GISConfig is the budget of FitOutputBiasGIS.
type GISConfig struct {
	Passes int // passes of the scaling update over the rows
	Rows   int // at most this many masked slots of the uploads (their logits are kept: Rows × V float32)
	// Smoothing is the pseudo-count α added to both the target and the expected count of every id, so that an
	// id no upload names drifts down slowly instead of to −∞ (the held-out text names ids the uploads do not).
	Smoothing float64
}

// FitOutputBiasGIS sets the masked-LM output bias of m to the maximum-likelihood bias for m's frozen encoder and
// output scale on the uploads, by generalized iterative scaling (Darroch & Ratcliff 1972). With one indicator
// feature per output id, GIS's update is exact and needs no learning rate:
//
//	b_v ← b_v + log((n_v + α) / (m_v + α)),
//
// n_v being the target mass of id v (hard masked-LM targets and, weighted by kdWeight, the public model's top-k
// predictions, as in the recovery loss) and m_v the mass the model currently puts on v, summed over the uploads'
// masked slots; every pass raises the likelihood. The cloud runs it in π-space on what it received: it is what
// 60 Adam steps at lr 1e-2 could not do for rare ids (Adam moves a parameter about one learning rate per step,
// and the frequency start is several nats off for most ids). The hidden states are computed once (the encoder is
// frozen here) and their bias-free logits kept, so a pass costs one exp per row and id.
//
// It returns the recovery loss (masked-LM + kdWeight × distillation cross-entropy) before each pass and after the
// last one.
func FitOutputBiasGIS(ctx stdctx.Context, m *models.Model, uploads []*Upload, kdWeight float64, cfg GISConfig) ([]float64, error) {
	if cfg.Passes < 1 || cfg.Rows < 1 || !(cfg.Smoothing > 0) {
		return nil, fmt.Errorf("output-bias fit: passes %d, rows %d, smoothing %v: want ≥ 1, ≥ 1 and > 0", cfg.Passes, cfg.Rows, cfg.Smoothing)
	}
	V := m.VocabSize
	bias := m.MLMBias()
	if bias == nil {
		return nil, fmt.Errorf("output-bias fit: the model has no masked-LM output bias")
	}
	rows, err := maskedSlotLogits(ctx, m, uploads, kdWeight, cfg.Rows)
	if err != nil {
		return nil, err
	}
	target := rows.targetMass(kdWeight)
	b := make([]float64, V)
	for v, x := range bias {
		b[v] = float64(x)
	}
	var curve []float64
	for pass := 0; ; pass++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("output-bias fit interrupted at pass %d: %w", pass, err)
		}
		expected, loss := rows.expectedCounts(b, kdWeight)
		curve = append(curve, loss)
		if pass == cfg.Passes {
			break
		}
		for v := range b {
			b[v] += math.Log((target[v] + cfg.Smoothing) / (expected[v] + cfg.Smoothing))
		}
	}
	out := make([]float32, V)
	for v, x := range b {
		out[v] = float32(x)
	}
	if err := m.SetMLMBias(out); err != nil {
		return nil, err
	}
	return curve, nil
}

// slotLogits are the bias-free masked-LM logits exp(log_scale)·h·E_sᵀ of up to n masked slots, row-major [n,V].
type slotLogits struct {
	v      int
	logits []float32
	slots  []slot
	weight float64 // Σ of the slots' weights
}

// targetMass is n_v: each slot's weight split between its hard target and, weighted by kdWeight, the public
// model's top-k predictions, as the recovery loss weighs them.
func (s *slotLogits) targetMass(kdWeight float64) []float64 {
	target := make([]float64, s.v)
	for _, r := range s.slots {
		target[r.target] += r.weight / (1 + kdWeight)
		for k, id := range r.kdIDs {
			target[id] += r.weight * kdWeight * float64(r.kdProbs[k]) / (1 + kdWeight)
		}
	}
	return target
}

type slot struct {
	weight  float64
	target  int32
	kdIDs   []int32
	kdProbs []float32
}

// maskedSlotLogits runs m's encoder and masked-LM transform over the uploads (inference mode) and keeps the
// bias-free logits of their first maxRows weighted masked slots.
func maskedSlotLogits(ctx stdctx.Context, m *models.Model, uploads []*Upload, kdWeight float64, maxRows int) (*slotLogits, error) {
	pred, err := m.NewPredictor(func(c *context.Context, in []*Node) []*Node {
		hidden := m.Encode(c, models.Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, -1)
		return []*Node{m.MLMTransform(c, models.GatherPositions(hidden, in[3]))}
	})
	if err != nil {
		return nil, fmt.Errorf("output-bias fit: %w", err)
	}
	defer pred.Finalize()
	d := m.Preset.Hidden
	var h []float32
	out := &slotLogits{v: m.VocabSize}
	for _, u := range uploads {
		if len(out.slots) == maxRows {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("output-bias fit interrupted: %w", err)
		}
		b := u.Batch
		outs, err := pred.Run(b.Tensors()[:4]...)
		if err != nil {
			return nil, fmt.Errorf("output-bias fit: hidden states: %w", err)
		}
		states := tensors.MustCopyFlatData[float32](outs[0]) // [B·P, d]
		outs[0].FinalizeAll()
		for r, w := range b.Weights {
			if w <= 0 || len(out.slots) == maxRows {
				continue
			}
			s := slot{weight: float64(w), target: b.Targets[r]}
			if kdWeight > 0 && u.KDIDs != nil {
				s.kdIDs, s.kdProbs = u.KDIDs[r*u.K:(r+1)*u.K], u.KDProbs[r*u.K:(r+1)*u.K]
			}
			out.slots = append(out.slots, s)
			out.weight += s.weight
			h = append(h, states[r*d:(r+1)*d]...)
		}
	}
	n := len(out.slots)
	if n == 0 {
		return nil, fmt.Errorf("output-bias fit: the uploads have no weighted masked slot")
	}
	table := m.TokenTable()
	out.logits = make([]float32, n*out.v)
	blas32.Gemm(blas.NoTrans, blas.Trans, float32(math.Exp(float64(m.MLMLogScale()))),
		blas32.General{Rows: n, Cols: d, Stride: d, Data: h},
		blas32.General{Rows: out.v, Cols: d, Stride: d, Data: table}, 0,
		blas32.General{Rows: n, Cols: out.v, Stride: out.v, Data: out.logits})
	return out, nil
}

// expectedCounts returns, for bias b, m_v = Σ_i w_i·softmax(z_i + b)_v and the weighted recovery loss (masked-LM
// cross-entropy plus kdWeight × the distillation cross-entropy, each averaged over the slots' weights).
func (s *slotLogits) expectedCounts(b []float64, kdWeight float64) ([]float64, float64) {
	workers := max(1, runtime.GOMAXPROCS(0))
	partial := make([][]float64, workers)
	losses := make([]float64, workers)
	var wg sync.WaitGroup
	n := len(s.slots)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts := make([]float64, s.v)
			p := make([]float64, s.v)
			for i := w; i < n; i += workers {
				row := s.logits[i*s.v : (i+1)*s.v]
				mx := math.Inf(-1)
				for v, z := range row {
					p[v] = float64(z) + b[v]
					mx = max(mx, p[v])
				}
				var sum float64
				for v := range p {
					p[v] = math.Exp(p[v] - mx)
					sum += p[v]
				}
				sl := s.slots[i]
				lse := mx + math.Log(sum)
				z := func(id int32) float64 { return float64(row[id]) + b[id] }
				loss := lse - z(sl.target)
				for k, id := range sl.kdIDs {
					loss += kdWeight * float64(sl.kdProbs[k]) * (lse - z(id))
				}
				losses[w] += sl.weight * loss
				scale := sl.weight / sum
				for v := range p {
					counts[v] += p[v] * scale
				}
			}
			partial[w] = counts
		}()
	}
	wg.Wait()
	total := partial[0]
	var loss float64
	for _, c := range partial[1:] {
		for v := range total {
			total[v] += c[v]
		}
	}
	for w := range workers {
		loss += losses[w]
	}
	return total, loss / s.weight
}
