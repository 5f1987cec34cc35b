package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"

	"github.com/cyphertalk/cyphertalk-go/models/backend"
)

// Scope and variable name of the token-embedding table, the matrix the shaking protocol transforms.
const (
	TokenTableScope = "/embeddings/token"
	TokenTableName  = "table"
	// InitStd is the standard deviation of BERT's weight initialisation, used for every table.
	InitStd = 0.02
)

// Model is one encoder instance: its preset, vocabulary size and variables (held in a gomlx context).
type Model struct {
	Preset    Preset
	VocabSize int
	Backend   backends.Backend
	Ctx       *context.Context
	// Approx, when set, replaces the non-linear layers of the encoder and pooler by crypto-friendly
	// approximations (approx.go); nil is the plain BERT graph.
	Approx *Approximations
}

// New creates a model with freshly initialised weights. The token table is drawn in Go from seed (ChaCha8), so it
// is identical on every backend; the other variables are drawn by gomlx from the context RNG seeded with seed.
func New(preset Preset, vocabSize int, seed uint64) (*Model, error) {
	if err := preset.Validate(); err != nil {
		return nil, err
	}
	if vocabSize < 8 {
		return nil, fmt.Errorf("vocabulary size %d is too small", vocabSize)
	}
	b, err := backend.Shared()
	if err != nil {
		return nil, err
	}
	ctx := context.New().Checked(false)
	if err := ctx.SetRNGStateFromSeed(int64(seed & math.MaxInt64)); err != nil {
		return nil, fmt.Errorf("seeding model RNG: %w", err)
	}
	ctx = ctx.WithInitializer(initializers.RandomNormalFn(ctx, InitStd))
	m := &Model{Preset: preset, VocabSize: vocabSize, Backend: b, Ctx: ctx}
	m.tokenTableVar().MustSetValue(tensors.FromFlatDataAndDimensions(RandomTable(vocabSize, preset.Hidden, InitStd, seed), vocabSize, preset.Hidden))
	return m, nil
}

// RandomTable draws a [rows×dim] row-major table with N(0, std²) entries from seed.
func RandomTable(rows, dim int, std float64, seed uint64) []float32 {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	copy(key[8:], "cyphertalk-token-table")
	rng := rand.New(rand.NewChaCha8(key))
	out := make([]float32, rows*dim)
	for i := range out {
		out[i] = float32(rng.NormFloat64() * std)
	}
	return out
}

func (m *Model) tokenTableVar() *context.Variable {
	return m.Ctx.InAbsPath(TokenTableScope).VariableWithShape(TokenTableName, shapes.Make(dtypes.Float32, m.VocabSize, m.Preset.Hidden))
}

// TokenTable returns a copy of the token-embedding table, row-major [VocabSize×Hidden].
func (m *Model) TokenTable() []float32 {
	return tensors.MustCopyFlatData[float32](m.tokenTableVar().MustValue())
}

// SetTokenTable replaces the token-embedding table. Compiled steps pick the new value up without recompiling.
func (m *Model) SetTokenTable(table []float32) error {
	if want := m.VocabSize * m.Preset.Hidden; len(table) != want {
		return fmt.Errorf("token table has %d values, want %d×%d = %d", len(table), m.VocabSize, m.Preset.Hidden, want)
	}
	m.tokenTableVar().MustSetValue(tensors.FromFlatDataAndDimensions(append([]float32(nil), table...), m.VocabSize, m.Preset.Hidden))
	return nil
}

// SetTokenTableTrainable freezes (false) or unfreezes the token table. It applies to steps compiled afterwards.
func (m *Model) SetTokenTableTrainable(trainable bool) { m.tokenTableVar().SetTrainable(trainable) }

// TokenTableTrainable reports whether the token table is trained.
func (m *Model) TokenTableTrainable() bool { return m.tokenTableVar().Trainable }

// SetTrainableScopes sets every variable whose scope starts with one of prefixes to trainable, and every other
// model variable to frozen (the token table included, unless a prefix covers it). Used by recovery phases that
// train only some layers. The flags hold for steps compiled afterwards, LayerNorm parameters included (layerNorm).
func (m *Model) SetTrainableScopes(prefixes ...string) {
	for v := range m.Ctx.IterVariables() {
		if !isModelVariable(v) {
			continue
		}
		v.SetTrainable(hasAnyPrefix(v.Scope(), prefixes))
	}
}

// Inputs are one fixed-shape batch of encoded sequences: [B,T] token ids, segment ids and attention mask (1 = token).
type Inputs struct{ IDs, Segments, Mask *Node }

// Encode runs the embeddings and the transformer layers and returns the final hidden states [B,T,d].
// upTo < 0 runs all layers; upTo = k returns the output of layer k (1-based; 0 = the embedding layer output).
func (m *Model) Encode(ctx *context.Context, in Inputs, upTo int) *Node {
	p := m.Preset
	g := in.IDs.Graph()
	batch, seqLen := in.IDs.Shape().Dimensions[0], in.IDs.Shape().Dimensions[1]
	if seqLen > p.MaxLen {
		panic(fmt.Sprintf("sequence length %d exceeds the preset's %d", seqLen, p.MaxLen))
	}
	table := m.tokenTableVar().ValueGraph(g)
	x := Gather(table, InsertAxes(in.IDs, -1)) // [B,T,d]
	x = Add(x, m.EmbedExtras(ctx, in, batch, seqLen))
	x = m.embeddingOutput(ctx, x)
	if upTo == 0 {
		return x
	}
	keyMask := ConvertDType(in.Mask, dtypes.Bool)
	for l := range p.Layers {
		x = m.layer(ctx.In("encoder").In(fmt.Sprintf("layer_%d", l)), x, keyMask)
		if upTo == l+1 {
			return x
		}
	}
	if p.PreLN {
		x = layerNorm(ctx.In("encoder").In("final_norm"), x)
	}
	return x
}

// EmbedExtras is the position + segment embedding sum [B,T,d] that is added to the token embeddings.
func (m *Model) EmbedExtras(ctx *context.Context, in Inputs, batch, seqLen int) *Node {
	g := in.IDs.Graph()
	d := m.Preset.Hidden
	pos := ctx.In("embeddings").In("position").VariableWithShape("table", shapes.Make(dtypes.Float32, m.Preset.MaxLen, d)).ValueGraph(g)
	// Gather rather than Slice: Slice's gradient needs Pad, which SimpleGo lacks in v0.26.0.
	pos = Gather(pos, Iota(g, shapes.Make(dtypes.Int32, seqLen, 1), 0))
	seg := ctx.In("embeddings").In("segment").VariableWithShape("table", shapes.Make(dtypes.Float32, 2, d)).ValueGraph(g)
	segEmb := Gather(seg, InsertAxes(in.Segments, -1))
	return Add(segEmb, BroadcastToDims(InsertAxes(pos, 0), batch, seqLen, d))
}

// EncodeFromEmbeddings runs the layers on an already embedded input x [B,T,d] (token + position + segment, before
// the embedding LayerNorm). Baselines that perturb the embedding output use it.
func (m *Model) EncodeFromEmbeddings(ctx *context.Context, x, mask *Node) *Node {
	x = m.embeddingOutput(ctx, x)
	keyMask := ConvertDType(mask, dtypes.Bool)
	for l := range m.Preset.Layers {
		x = m.layer(ctx.In("encoder").In(fmt.Sprintf("layer_%d", l)), x, keyMask)
	}
	if m.Preset.PreLN {
		x = layerNorm(ctx.In("encoder").In("final_norm"), x)
	}
	return x
}

func (m *Model) embeddingOutput(ctx *context.Context, x *Node) *Node {
	if !m.Preset.PreLN {
		x = layerNorm(ctx.In("embeddings").In("layer_norm"), x)
	}
	return m.dropout(ctx, x)
}

// layerNorm is gomlx's LayerNormalization over the last axis with BERT's ε = 1e-12, keeping the Trainable flags its
// gain and offset had before the call: gomlx v0.26.0 marks both trainable on every graph build
// (layers/layernorm.go), which would silently undo SetTrainableScopes for every LayerNorm that a frozen part of
// the model runs through (measured: DP-SGD with only the head trained moved every encoder LayerNorm).
func layerNorm(ctx *context.Context, x *Node) *Node {
	inner := ctx.In("layer_normalization")
	var existing []*context.Variable
	var trainable []bool
	for _, name := range []string{"gain", "offset"} {
		if v := inner.GetVariable(name); v != nil {
			existing, trainable = append(existing, v), append(trainable, v.Trainable)
		}
	}
	out := layers.LayerNormalization(ctx, x, -1).Epsilon(1e-12).Done()
	for i, v := range existing {
		v.SetTrainable(trainable[i])
	}
	return out
}

func (m *Model) dropout(ctx *context.Context, x *Node) *Node {
	if m.Preset.Dropout == 0 {
		return x
	}
	return layers.DropoutStatic(ctx, x, m.Preset.Dropout)
}

// layer is one transformer block (post-LN as in BERT, or pre-LN).
func (m *Model) layer(ctx *context.Context, x, keyMask *Node) *Node {
	p := m.Preset
	norm := func(name string, v *Node) *Node {
		return layerNorm(ctx.In(name), v)
	}
	attIn := x
	if p.PreLN {
		attIn = norm("attention_norm", x)
	}
	att := m.attention(ctx.In("attention"), attIn, keyMask)
	x = Add(x, m.dropout(ctx, att))
	if !p.PreLN {
		x = norm("attention_norm", x)
	}
	ffIn := x
	if p.PreLN {
		ffIn = norm("ffn_norm", x)
	}
	h := m.gelu(layers.Dense(ctx.In("ffn_in"), ffIn, true, p.FFN))
	h = layers.Dense(ctx.In("ffn_out"), h, true, p.Hidden)
	x = Add(x, m.dropout(ctx, h))
	if !p.PreLN {
		x = norm("ffn_norm", x)
	}
	return x
}

// Pool returns the [CLS] representation: tanh(Dense(h[:,0])) as in BERT.
func (m *Model) Pool(ctx *context.Context, hidden *Node) *Node {
	// Gather rather than Slice: Slice's gradient needs Pad, which SimpleGo lacks in v0.26.0.
	batch := hidden.Shape().Dimensions[0]
	cls := GatherPositions(hidden, Zeros(hidden.Graph(), shapes.Make(dtypes.Int32, batch, 1)))
	return m.poolerActivation(layers.Dense(ctx.In("pooler"), cls, true, m.Preset.Hidden))
}

// TaskHead maps pooled [B,d] to [B,numLabels] logits (numLabels = 1 for regression).
func (m *Model) TaskHead(ctx *context.Context, pooled *Node, numLabels int) *Node {
	return layers.Dense(ctx.In("task_head"), m.dropout(ctx, pooled), true, numLabels)
}

// MLMTransform is the masked-LM head's transform of hidden states [N,d] before the tied output projection.
func (m *Model) MLMTransform(ctx *context.Context, h *Node) *Node {
	h = activations.Gelu(layers.Dense(ctx.In("mlm").In("transform"), h, true, m.Preset.Hidden))
	return layerNorm(ctx.In("mlm").In("layer_norm"), h)
}

// MLMLogits projects transformed states [N,d] onto the vocabulary with the (tied) token table: [N,V].
// logits = exp(log_scale)·h·Eᵀ + bias; the learnable scale lets the output sharpen even when E is frozen.
func (m *Model) MLMLogits(ctx *context.Context, h *Node) *Node {
	g := h.Graph()
	table := m.tokenTableVar().ValueGraph(g)
	// The scale multiplies h [N,d] rather than the product [N,V]: the same logits, without a scalar broadcast and a
	// product over N·V values in the step and its gradient (~10% of a pre-training step in profiles).
	scaled := DotGeneral(Mul(h, m.mlmScale(ctx, g)), []int{1}, nil, table, []int{1}, nil)
	return Add(scaled, InsertAxes(m.mlmBias(ctx, g), 0))
}

// MLMLabelLogits returns only the logit of each target id, [N], without the [N,V] product (cheap; used with
// the log-sum-exp of MLMLogits for the cross-entropy).
func (m *Model) MLMLabelLogits(ctx *context.Context, h, targets *Node) *Node {
	g := h.Graph()
	table := m.tokenTableVar().ValueGraph(g)
	rows := Gather(table, InsertAxes(targets, -1))          // [N,d]
	b := Gather(m.mlmBias(ctx, g), InsertAxes(targets, -1)) // [N]
	return Add(Mul(ReduceSum(Mul(h, rows), -1), m.mlmScale(ctx, g)), b)
}

func (m *Model) mlmBias(ctx *context.Context, g *Graph) *Node {
	return ctx.In("mlm").WithInitializer(initializers.Zero).VariableWithShape("output_bias", shapes.Make(dtypes.Float32, m.VocabSize)).ValueGraph(g)
}

func (m *Model) mlmScale(ctx *context.Context, g *Graph) *Node {
	return Exp(ctx.In("mlm").WithInitializer(initializers.Zero).VariableWithShape("log_scale", shapes.Make(dtypes.Float32)).ValueGraph(g))
}

// InitMLMOutput sets the masked-LM output bias (e.g. to log unigram probabilities, so training starts at the
// unigram loss instead of spending thousands of steps learning token frequencies) and the output log-scale.
func (m *Model) InitMLMOutput(bias []float32, logScale float32) error {
	if len(bias) != m.VocabSize {
		return fmt.Errorf("MLM output bias has %d values, want %d", len(bias), m.VocabSize)
	}
	m.Ctx.InAbsPath("/mlm").VariableWithShape("output_bias", shapes.Make(dtypes.Float32, m.VocabSize)).
		MustSetValue(tensors.FromFlatDataAndDimensions(append([]float32(nil), bias...), m.VocabSize))
	m.Ctx.InAbsPath("/mlm").VariableWithShape("log_scale", shapes.Make(dtypes.Float32)).MustSetValue(tensors.FromScalar(logScale))
	return nil
}

// GatherPositions picks hidden states [B,T,d] at positions [B,P] → [B*P,d].
func GatherPositions(hidden, positions *Node) *Node {
	dims := hidden.Shape().Dimensions
	b, t, d := dims[0], dims[1], dims[2]
	p := positions.Shape().Dimensions[1]
	flat := Reshape(hidden, b*t, d)
	offsets := MulScalar(Iota(hidden.Graph(), shapes.Make(positions.DType(), b, p), 0), float64(t))
	idx := Reshape(Add(positions, offsets), b*p, 1)
	return Gather(flat, idx)
}

// modelScopes are the scopes that hold model weights (as opposed to optimizer and RNG state).
var modelScopes = []string{"/embeddings", "/encoder", "/pooler", "/task_head", "/mlm"}

// isModelVariable tells the model's weights apart from optimizer state and RNG state.
func isModelVariable(v *context.Variable) bool {
	return hasAnyPrefix(v.Scope(), modelScopes)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(s, p) })
}
