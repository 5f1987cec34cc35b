package models

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// EmbeddingOutputs is the embedding layer's output for every vocabulary id at one position and segment, a V×d
// row-major table: the token row plus the position and segment rows, then the embedding LayerNorm (none for a
// pre-LN preset), without dropout — what Encode(…, 0) computes for a token there. It is computed here in Go from
// the model's weights, so that an attacker who knows the public model can build candidate outputs for every
// (position, segment) without running the graph. The encoder's graph is the reference (tested to 1e-5).
func (m *Model) EmbeddingOutputs(position, segment int) ([]float32, error) {
	p := m.Preset
	d := p.Hidden
	if position < 0 || position >= p.MaxLen {
		return nil, fmt.Errorf("embedding outputs: position %d outside 0…%d", position, p.MaxLen-1)
	}
	if segment < 0 || segment > 1 {
		return nil, fmt.Errorf("embedding outputs: segment %d is not 0 or 1", segment)
	}
	read := func(scope, name string, size int) ([]float32, error) {
		v := m.Ctx.GetVariableByScopeAndName(scope, name)
		if v == nil || !v.HasValue() {
			return nil, fmt.Errorf("embedding outputs: variable %s/%s does not exist", scope, name)
		}
		if v.DType() != dtypes.Float32 || v.Shape().Size() != size {
			return nil, fmt.Errorf("embedding outputs: variable %s/%s is %s, want %d float32 values", scope, name, v.Shape(), size)
		}
		t, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("embedding outputs: reading %s/%s: %w", scope, name, err)
		}
		return tensors.MustCopyFlatData[float32](t), nil
	}
	pos, err := read("/embeddings/position", "table", p.MaxLen*d)
	if err != nil {
		return nil, err
	}
	seg, err := read("/embeddings/segment", "table", 2*d)
	if err != nil {
		return nil, err
	}
	var gain, offset []float32
	if !p.PreLN {
		const scope = "/embeddings/layer_norm/layer_normalization"
		if gain, err = read(scope, "gain", d); err != nil {
			return nil, err
		}
		if offset, err = read(scope, "offset", d); err != nil {
			return nil, err
		}
	}
	out := m.TokenTable()
	if len(out) != m.VocabSize*d {
		return nil, fmt.Errorf("embedding outputs: token table has %d values, want %d×%d", len(out), m.VocabSize, d)
	}
	extra := make([]float64, d)
	for j := range extra {
		extra[j] = float64(pos[position*d+j]) + float64(seg[segment*d+j])
	}
	x := make([]float64, d)
	for v := range m.VocabSize {
		row := out[v*d : (v+1)*d]
		for j := range row {
			x[j] = float64(row[j]) + extra[j]
		}
		if gain == nil {
			for j := range row {
				row[j] = float32(x[j])
			}
			continue
		}
		var mean float64
		for _, xj := range x {
			mean += xj
		}
		mean /= float64(d)
		var variance float64
		for _, xj := range x {
			variance += (xj - mean) * (xj - mean)
		}
		inv := 1 / math.Sqrt(variance/float64(d)+layerNormEpsilon)
		for j := range row {
			row[j] = float32((x[j]-mean)*inv*float64(gain[j]) + float64(offset[j]))
		}
	}
	return out, nil
}

// layerNormEpsilon is the ε of every LayerNorm of the encoder (BERT's 1e-12).
const layerNormEpsilon = 1e-12
