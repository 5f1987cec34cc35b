package models

import (
	"fmt"
	"sort"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Snapshot is a copy of some of a model's weights (float32, by scope and name): what one party hands another
// (the client's adapted layers, the cloud's recovered model), or a checkpoint in memory.
type Snapshot struct{ vars []savedVar }

// Weights copies the model's weights whose scope starts with one of prefixes (all model weights if none).
func (m *Model) Weights(prefixes ...string) (Snapshot, error) {
	var s Snapshot
	for v := range m.Ctx.IterVariables() {
		if !isModelVariable(v) || !v.HasValue() || (len(prefixes) > 0 && !hasAnyPrefix(v.Scope(), prefixes)) {
			continue
		}
		if v.DType() != dtypes.Float32 {
			return Snapshot{}, fmt.Errorf("variable %s has dtype %s; only float32 is copied", v.ScopeAndName(), v.DType())
		}
		s.vars = append(s.vars, savedVar{Scope: v.Scope(), Name: v.Name(), Dims: v.Shape().Dimensions,
			Data: tensors.MustCopyFlatData[float32](v.MustValue())})
	}
	sort.Slice(s.vars, func(i, j int) bool {
		return s.vars[i].Scope+"/"+s.vars[i].Name < s.vars[j].Scope+"/"+s.vars[j].Name
	})
	return s, nil
}

// Bytes is the size of the snapshot's values as float32 (what sending it costs, without framing).
func (s Snapshot) Bytes() int64 {
	var n int64
	for _, v := range s.vars {
		n += int64(len(v.Data)) * 4
	}
	return n
}

// Len is the number of variables in the snapshot.
func (s Snapshot) Len() int { return len(s.vars) }

// SetWeights overwrites (or creates) the snapshot's variables in m; shapes must match existing variables.
func (m *Model) SetWeights(s Snapshot) error {
	return m.apply("snapshot", &weightsFile{Vars: s.vars}, nil)
}

// Clone returns an independent model with the same preset and a copy of all of m's weights.
func (m *Model) Clone(seed uint64) (*Model, error) {
	c, err := New(m.Preset, m.VocabSize, seed)
	if err != nil {
		return nil, err
	}
	s, err := m.Weights()
	if err != nil {
		return nil, err
	}
	return c, c.SetWeights(s)
}

// MLMBias returns a copy of the masked-LM output bias (one value per vocabulary id), or nil if the model has none.
func (m *Model) MLMBias() []float32 {
	v := m.Ctx.GetVariableByScopeAndName("/mlm", "output_bias")
	if v == nil || !v.HasValue() {
		return nil
	}
	return tensors.MustCopyFlatData[float32](v.MustValue())
}

// MLMLogScale is the masked-LM output log-scale (0 when the model has none yet).
func (m *Model) MLMLogScale() float32 {
	v := m.Ctx.GetVariableByScopeAndName("/mlm", "log_scale")
	if v == nil || !v.HasValue() {
		return 0
	}
	return tensors.MustCopyFlatData[float32](v.MustValue())[0]
}

// SetMLMBias replaces the masked-LM output bias.
func (m *Model) SetMLMBias(bias []float32) error {
	if len(bias) != m.VocabSize {
		return fmt.Errorf("MLM output bias has %d values, want %d", len(bias), m.VocabSize)
	}
	m.Ctx.InAbsPath("/mlm").VariableWithShape("output_bias", shapes.Make(dtypes.Float32, m.VocabSize)).
		MustSetValue(tensors.FromFlatDataAndDimensions(append([]float32(nil), bias...), m.VocabSize))
	return nil
}

// SetTrainableFunc sets each model variable trainable iff keep(scope, name) (optimizer and RNG state untouched).
func (m *Model) SetTrainableFunc(keep func(scope, name string) bool) {
	for v := range m.Ctx.IterVariables() {
		if isModelVariable(v) {
			v.SetTrainable(keep(v.Scope(), v.Name()))
		}
	}
}
