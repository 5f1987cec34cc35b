package cryptofriendly

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// Dense is a plaintext affine map x·W + B (W is in×out).
type Dense struct {
	W Matrix
	B []float64
}

// Norm is a LayerNorm's learned gain and offset.
type Norm struct {
	Gain, Offset []float64
}

// Layer holds one transformer block's weights. Query, Key and Value map d → heads·headDim, head h owning
// columns [h·headDim, (h+1)·headDim) (the flattening of gomlx's [d, heads, headDim] kernels).
type Layer struct {
	Query, Key, Value, Output Dense
	AttentionNorm, FFNNorm    Norm
	FFNIn, FFNOut             Dense
}

// Interval is the range [Lo, Hi] an engine may assume for the input of a Reciprocal or InvSqrt.
type Interval struct{ Lo, Hi float64 }

// Weights is a model exported to plain Go: the cloud's weights (float64), the public embedding tables the client
// embeds its ids with, the approximations the weights were distilled for, and the calibrated input ranges of
// each Reciprocal and InvSqrt site (see Calibrate).
type Weights struct {
	Preset    models.Preset
	VocabSize int
	Approx    models.Approximations
	// Token, Position and Segment are the embedding tables ([V×d], [MaxLen×d], [2×d]).
	Token, Position, Segment Matrix
	// EmbeddingNorm is the LayerNorm after the embeddings (post-LN); FinalNorm the one after the last layer
	// (pre-LN). The other one is nil.
	EmbeddingNorm, FinalNorm *Norm
	Layers                   []Layer
	Pooler, Head             Dense
	// Bounds maps a site name (e.g. "layer_0/attention_norm", "layer_1/head_0/softmax") to the input range of its
	// InvSqrt or Reciprocal; sites without an entry use DefaultBounds.
	Bounds map[string]Interval
}

// NumLabels is the width of the task head (1 = regression).
func (w *Weights) NumLabels() int { return w.Head.W.Cols }

// Export reads every weight of m (which must have built its task-head graph once, so all variables exist) into
// float64 matrices, with m.Approx (nil = none) recorded.
func Export(m *models.Model) (*Weights, error) {
	p := m.Preset
	r := &reader{m: m}
	w := &Weights{Preset: p, VocabSize: m.VocabSize, Bounds: map[string]Interval{}}
	if m.Approx != nil {
		w.Approx = *m.Approx
		w.Approx.GELU = append([]float64(nil), m.Approx.GELU...)
		w.Approx.PoolerTanh = append([]float64(nil), m.Approx.PoolerTanh...)
	}
	w.Token = r.matrix(models.TokenTableScope, models.TokenTableName, m.VocabSize, p.Hidden)
	w.Position = r.matrix("/embeddings/position", "table", p.MaxLen, p.Hidden)
	w.Segment = r.matrix("/embeddings/segment", "table", 2, p.Hidden)
	if p.PreLN {
		n := r.norm("/encoder/final_norm", p.Hidden)
		w.FinalNorm = &n
	} else {
		n := r.norm("/embeddings/layer_norm", p.Hidden)
		w.EmbeddingNorm = &n
	}
	width := p.Heads * p.HeadDim()
	for l := range p.Layers {
		s := fmt.Sprintf("/encoder/layer_%d", l)
		att := s + "/attention/MultiHeadAttention"
		w.Layers = append(w.Layers, Layer{
			Query:         r.dense(att+"/query/dense", p.Hidden, width),
			Key:           r.dense(att+"/key/dense", p.Hidden, width),
			Value:         r.dense(att+"/value/dense", p.Hidden, width),
			Output:        r.dense(att+"/output/dense", width, p.Hidden),
			AttentionNorm: r.norm(s+"/attention_norm", p.Hidden),
			FFNNorm:       r.norm(s+"/ffn_norm", p.Hidden),
			FFNIn:         r.dense(s+"/ffn_in/dense", p.Hidden, p.FFN),
			FFNOut:        r.dense(s+"/ffn_out/dense", p.FFN, p.Hidden),
		})
	}
	w.Pooler = r.dense("/pooler/dense", p.Hidden, p.Hidden)
	if v := m.Ctx.GetVariableByScopeAndName("/task_head/dense", "biases"); v != nil {
		w.Head = r.dense("/task_head/dense", p.Hidden, v.Shape().Size())
	} else {
		r.fail("/task_head/dense", "biases")
	}
	if r.err != nil {
		return nil, fmt.Errorf("exporting %s model: %w", p.Name, r.err)
	}
	return w, nil
}

// reader copies variables out of a model, remembering the first error.
type reader struct {
	m   *models.Model
	err error
}

func (r *reader) fail(scope, name string) {
	if r.err == nil {
		r.err = fmt.Errorf("variable %s/%s does not exist (run the model's task graph once before exporting)", scope, name)
	}
}

// values returns a variable's values as float64, checking its size.
func (r *reader) values(scope, name string, size int) []float64 {
	if r.err != nil {
		return make([]float64, size)
	}
	v := r.m.Ctx.GetVariableByScopeAndName(scope, name)
	if v == nil || !v.HasValue() {
		r.fail(scope, name)
		return make([]float64, size)
	}
	if v.DType() != dtypes.Float32 || v.Shape().Size() != size {
		r.err = fmt.Errorf("variable %s/%s is %s, want %d float32 values", scope, name, v.Shape(), size)
		return make([]float64, size)
	}
	t, err := v.Value()
	if err != nil {
		r.err = fmt.Errorf("reading variable %s/%s: %w", scope, name, err)
		return make([]float64, size)
	}
	flat := tensors.MustCopyFlatData[float32](t)
	out := make([]float64, len(flat))
	for i, x := range flat {
		out[i] = float64(x)
	}
	return out
}

func (r *reader) matrix(scope, name string, rows, cols int) Matrix {
	return Matrix{Rows: rows, Cols: cols, Data: r.values(scope, name, rows*cols)}
}

func (r *reader) dense(scope string, in, out int) Dense {
	return Dense{W: r.matrix(scope, "weights", in, out), B: r.values(scope, "biases", out)}
}

func (r *reader) norm(scope string, d int) Norm {
	scope += "/layer_normalization"
	return Norm{Gain: r.values(scope, "gain", d), Offset: r.values(scope, "offset", d)}
}

// Embed is the client's side of the input: token + position + segment embeddings of one sequence (T×d), computed
// in the clear from its ids with the public tables.
func (w *Weights) Embed(ids, segments []int32) (Matrix, error) {
	if len(ids) != len(segments) {
		return Matrix{}, fmt.Errorf("embedding: %d ids but %d segment ids", len(ids), len(segments))
	}
	if len(ids) > w.Position.Rows {
		return Matrix{}, fmt.Errorf("embedding: sequence of %d tokens exceeds the maximum length %d", len(ids), w.Position.Rows)
	}
	d := w.Preset.Hidden
	out := NewMatrix(len(ids), d)
	for t, id := range ids {
		if id < 0 || int(id) >= w.Token.Rows {
			return Matrix{}, fmt.Errorf("embedding: token id %d at position %d outside the vocabulary of %d", id, t, w.Token.Rows)
		}
		seg := segments[t]
		if seg < 0 || int(seg) >= w.Segment.Rows {
			return Matrix{}, fmt.Errorf("embedding: segment id %d at position %d is not 0 or 1", seg, t)
		}
		row := out.Data[t*d : (t+1)*d]
		tok, pos, sg := w.Token.Data[int(id)*d:], w.Position.Data[t*d:], w.Segment.Data[int(seg)*d:]
		for j := range row {
			row[j] = tok[j] + pos[j] + sg[j]
		}
	}
	return out, nil
}

// EmbedExample embeds example i of an encoded set and returns it with its attention mask.
func (w *Weights) EmbedExample(data *finetune.Encoded, i int) (Matrix, []bool, error) {
	if i < 0 || i >= data.N {
		return Matrix{}, nil, fmt.Errorf("example %d outside the %d encoded examples", i, data.N)
	}
	T := data.T
	x, err := w.Embed(data.IDs[i*T:(i+1)*T], data.Segments[i*T:(i+1)*T])
	if err != nil {
		return Matrix{}, nil, fmt.Errorf("example %d: %w", i, err)
	}
	mask := make([]bool, T)
	for t := range mask {
		mask[t] = data.Mask[i*T+t] != 0
	}
	return x, mask, nil
}
