package hf

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
)

// Tensor is one named tensor of a safetensors file, row-major, its values as float32.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32 // nil for an integer or boolean tensor (DType says which), which is not decoded
	DType string    // the file's dtype (F32 when written here)
}

// maxHeader bounds the JSON header a reader accepts (the format's reference implementation uses 100 MB).
const maxHeader = 100 << 20

type headerEntry struct {
	DType       string `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

// ReadSafetensors reads every tensor of a safetensors file: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}} (plus an optional "__metadata__" of strings), then the raw
// little-endian data. F32, F64, F16 and BF16 tensors are returned as float32; integer and boolean tensors (such
// as the position_ids buffer of older BERT checkpoints) come back without values; an unknown dtype is refused,
// naming the tensor. Tensors come back sorted by name.
func ReadSafetensors(path string) ([]Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var n uint64
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return nil, fmt.Errorf("%s: reading the header length: %w", path, err)
	}
	if n == 0 || n > maxHeader || int64(n) > st.Size()-8 {
		return nil, fmt.Errorf("%s: header length %d is not plausible for a %d-byte file (not a safetensors file?)", path, n, st.Size())
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("%s: reading the header: %w", path, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("%s: header is not a JSON object: %w", path, err)
	}
	dataLen := int(st.Size() - 8 - int64(n))
	type span struct {
		name string
		e    headerEntry
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		size, ok := dtypeSize[e.DType]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q has dtype %s, not a safetensors dtype this reader knows", path, name, e.DType)
		}
		count := 1
		for _, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%s: tensor %q has a negative dimension in shape %v", path, name, e.Shape)
			}
			count *= d
		}
		lo, hi := e.DataOffsets[0], e.DataOffsets[1]
		if lo < 0 || hi < lo || hi > dataLen {
			return nil, fmt.Errorf("%s: tensor %q: data offsets [%d, %d] outside the %d data bytes", path, name, lo, hi, dataLen)
		}
		if hi-lo != count*size {
			return nil, fmt.Errorf("%s: tensor %q: shape %v of %s needs %d bytes, offsets give %d", path, name, e.Shape, e.DType, count*size, hi-lo)
		}
		spans = append(spans, span{name, e})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].e.DataOffsets[0] < spans[j].e.DataOffsets[0] })
	pos := 0
	out := make([]Tensor, 0, len(spans))
	for _, s := range spans {
		lo, hi := s.e.DataOffsets[0], s.e.DataOffsets[1]
		if lo < pos {
			return nil, fmt.Errorf("%s: tensor %q overlaps the tensor before it", path, s.name)
		}
		if _, err := r.Discard(lo - pos); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, s.name, err)
		}
		buf := make([]byte, hi-lo)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("%s: reading tensor %q: %w", path, s.name, err)
		}
		pos = hi
		out = append(out, Tensor{Name: s.name, Shape: append([]int{}, s.e.Shape...), Data: decode(s.e.DType, buf), DType: s.e.DType})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

var dtypeSize = map[string]int{"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
	"U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}

// isFloat reports whether decode gives a dtype's values.
func isFloat(dtype string) bool {
	return dtype == "F32" || dtype == "F64" || dtype == "F16" || dtype == "BF16"
}

func decode(dtype string, b []byte) []float32 {
	if !isFloat(dtype) {
		return nil
	}
	size := dtypeSize[dtype]
	out := make([]float32, len(b)/size)
	for i := range out {
		switch dtype {
		case "F64":
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		case "F32":
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		case "BF16":
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		case "F16":
			out[i] = halfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
	return out
}

// halfToFloat converts an IEEE 754 binary16 value to float32 (exactly: every half is a float32).
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac · 2^-24
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// WriteSafetensors writes tensors as F32 to path atomically, in the order given, with metadata in the header's
// "__metadata__" (nil: none).
func WriteSafetensors(path string, ts []Tensor, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	off := 0
	seen := map[string]bool{}
	for _, t := range ts {
		if seen[t.Name] || t.Name == "__metadata__" || strings.TrimSpace(t.Name) == "" {
			return fmt.Errorf("%s: tensor name %q is empty, reserved or repeated", path, t.Name)
		}
		seen[t.Name] = true
		count := 1
		for _, d := range t.Shape {
			count *= d
		}
		if count != len(t.Data) {
			return fmt.Errorf("%s: tensor %q has %d values for shape %v", path, t.Name, len(t.Data), t.Shape)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = headerEntry{DType: "F32", Shape: shape, DataOffsets: [2]int{off, off + 4*count}}
		off += 4 * count
	}
	hdr, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hdr)%8 != 0 { // the format pads the header with spaces so the data is 8-byte aligned
		hdr = append(hdr, ' ')
	}
	return atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := binary.Write(bw, binary.LittleEndian, uint64(len(hdr))); err != nil {
			return err
		}
		if _, err := bw.Write(hdr); err != nil {
			return err
		}
		var b [4]byte
		for _, t := range ts {
			for _, v := range t.Data {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
				if _, err := bw.Write(b[:]); err != nil {
					return err
				}
			}
		}
		return bw.Flush()
	})
}
