package models

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
)

// weightsFormat versions the weight-file layout: /2 stores each variable as raw little-endian float32 bytes
// (gob writes a []float32 value by value, ~1.5× the size); /1 files (Data) are still read.
const (
	weightsFormat   = "cyphertalk-weights/2"
	weightsFormatV1 = "cyphertalk-weights/1"
)

type savedVar struct {
	Scope, Name string
	Dims        []int
	Data        []float32 // format /1
	Raw         []byte    // format /2: little-endian float32
}

// values returns the variable's values whichever format stored them.
func (sv savedVar) values() []float32 {
	if sv.Raw == nil {
		return sv.Data
	}
	out := make([]float32, len(sv.Raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(sv.Raw[4*i:]))
	}
	return out
}

func rawFloats(data []float32) []byte {
	out := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
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
			Raw: rawFloats(tensors.MustCopyFlatData[float32](v.MustValue()))})
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

// readWeights decodes a weight file.
func readWeights(path string) (*weightsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening weights: %w", err)
	}
	defer f.Close()
	var wf weightsFile
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&wf); err != nil {
		return nil, fmt.Errorf("decoding weights %s: %w", path, err)
	}
	if wf.Format != weightsFormat && wf.Format != weightsFormatV1 {
		return nil, fmt.Errorf("weights %s: format %q, want %q (or %q)", path, wf.Format, weightsFormat, weightsFormatV1)
	}
	for _, sv := range wf.Vars {
		n := 1
		for _, d := range sv.Dims {
			n *= d
		}
		if got := len(sv.values()); got != n {
			return nil, fmt.Errorf("weights %s: variable %s/%s holds %d values, its shape %v needs %d", path, sv.Scope, sv.Name, got, sv.Dims, n)
		}
	}
	return &wf, nil
}

// Load reads a weight file into a new model. Scopes listed in skip (e.g. "/task_head", "/mlm") are not loaded,
// so a pre-trained encoder can get a fresh task head.
func Load(path string, seed uint64, skip ...string) (*Model, map[string]string, error) {
	wf, err := readWeights(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := New(wf.Preset, wf.VocabSize, seed)
	if err != nil {
		return nil, nil, fmt.Errorf("weights %s: %w", path, err)
	}
	return m, wf.Meta, m.apply(path, wf, skip)
}

// LoadWeights overwrites this model's variables with those of a weight file of the same shape (resuming a run).
func (m *Model) LoadWeights(path string, skip ...string) (map[string]string, error) {
	wf, err := readWeights(path)
	if err != nil {
		return nil, err
	}
	if wf.Preset != m.Preset || wf.VocabSize != m.VocabSize {
		return nil, fmt.Errorf("weights %s are for %s with V=%d, not %s with V=%d", path, wf.Preset, wf.VocabSize, m.Preset, m.VocabSize)
	}
	return wf.Meta, m.apply(path, wf, skip)
}

func (m *Model) apply(path string, wf *weightsFile, skip []string) error {
	for _, sv := range wf.Vars {
		if hasAnyPrefix(sv.Scope, skip) {
			continue
		}
		t := tensors.FromFlatDataAndDimensions(sv.values(), sv.Dims...)
		v := m.Ctx.GetVariableByScopeAndName(sv.Scope, sv.Name)
		if v == nil {
			m.Ctx.InAbsPath(sv.Scope).VariableWithValue(sv.Name, t)
			continue
		}
		if !v.Shape().Equal(t.Shape()) {
			return fmt.Errorf("weights %s: variable %s has shape %s, model wants %s", path, v.ScopeAndName(), t.Shape(), v.Shape())
		}
		v.MustSetValue(t)
	}
	return nil
}
