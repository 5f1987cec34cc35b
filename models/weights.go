package models

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
)

// weightsFormat versions the weight-file layout.
const weightsFormat = "cyphertalk-weights/1"

type savedVar struct {
	Scope, Name string
	Dims        []int
	Data        []float32
}

type weightsFile struct {
	Format    string
	Preset    Preset
	VocabSize int
	Meta      map[string]string
	Vars      []savedVar
}

// Save writes the model's weights (not optimizer state) atomically, with free-form metadata.
func (m *Model) Save(path string, meta map[string]string) error {
	wf := weightsFile{Format: weightsFormat, Preset: m.Preset, VocabSize: m.VocabSize, Meta: meta}
	for v := range m.Ctx.IterVariables() {
		if !isModelVariable(v) || !v.HasValue() {
			continue
		}
		if v.DType() != dtypes.Float32 {
			return fmt.Errorf("variable %s has dtype %s; only float32 is saved", v.ScopeAndName(), v.DType())
		}
		wf.Vars = append(wf.Vars, savedVar{Scope: v.Scope(), Name: v.Name(), Dims: v.Shape().Dimensions,
			Data: tensors.MustCopyFlatData[float32](v.MustValue())})
	}
	sort.Slice(wf.Vars, func(i, j int) bool {
		return wf.Vars[i].Scope+"/"+wf.Vars[i].Name < wf.Vars[j].Scope+"/"+wf.Vars[j].Name
	})
	return atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		if err := gob.NewEncoder(bw).Encode(&wf); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// Load reads a weight file into a new model. Scopes listed in skip (e.g. "/task_head", "/mlm") are not loaded,
// so a pre-trained encoder can get a fresh task head.
func Load(path string, seed uint64, skip ...string) (*Model, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("opening weights: %w", err)
	}
	defer f.Close()
	var wf weightsFile
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&wf); err != nil {
		return nil, nil, fmt.Errorf("decoding weights %s: %w", path, err)
	}
	if wf.Format != weightsFormat {
		return nil, nil, fmt.Errorf("weights %s: format %q, want %q", path, wf.Format, weightsFormat)
	}
	m, err := New(wf.Preset, wf.VocabSize, seed)
	if err != nil {
		return nil, nil, fmt.Errorf("weights %s: %w", path, err)
	}
	for _, sv := range wf.Vars {
		if hasAnyPrefix(sv.Scope, skip) {
			continue
		}
		t := tensors.FromFlatDataAndDimensions(sv.Data, sv.Dims...)
		v := m.Ctx.GetVariableByScopeAndName(sv.Scope, sv.Name)
		if v == nil {
			m.Ctx.InAbsPath(sv.Scope).VariableWithValue(sv.Name, t)
			continue
		}
		if !v.Shape().Equal(t.Shape()) {
			return nil, nil, fmt.Errorf("weights %s: variable %s has shape %s, model wants %s", path, v.ScopeAndName(), t.Shape(), v.Shape())
		}
		v.MustSetValue(t)
	}
	return m, wf.Meta, nil
}
