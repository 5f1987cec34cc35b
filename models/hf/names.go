package hf

import (
	"fmt"
	"math"
	"slices"

	"github.com/cyphertalk/cyphertalk-go/models"
)

// Parts of a checkpoint. The encoder is required; the others are imported when the checkpoint has them.
const (
	partEncoder    = "encoder"
	partPooler     = "pooler"
	partMLM        = "MLM head"
	partClassifier = "classifier"
)

// param maps one Hugging Face tensor onto one models.Model variable.
type param struct {
	part        string
	hf          string   // canonical name, without the "bert." prefix for the BertModel part
	alt         []string // other names a checkpoint may use (old gamma/beta LayerNorm names, decoder.bias)
	scope, name string   // the model variable
	hfShape     []int
	shape       []int
	kind        convKind
	scale       float64 // query projection: ours = scale · HF (see Import)
}

type convKind int

const (
	convCopy      convKind = iota // same layout
	convTranspose                 // HF [a,b] ↔ ours [b,a] (nn.Linear weight [out,in] ↔ Dense kernel [in,out...])
	convRows                      // HF [n,d] → ours the first rows [m,d], m ≤ n (position embeddings)
)

// encoderPrefix is the name prefix of the BertModel part inside the task models (BertForMaskedLM,
// BertForPreTraining, BertForSequenceClassification).
const encoderPrefix = "bert."

// params lists every tensor of a post-LN BERT of preset p with vocabulary v, hfPositions position rows in the
// checkpoint and numLabels classifier outputs (0: no classifier).
func params(p models.Preset, v, hfPositions, numLabels int) []param {
	d, h, hd, ffn := p.Hidden, p.Heads, p.HeadDim(), p.FFN
	var out []param
	add := func(part, hf string, alt []string, scope, name string, hfShape, shape []int, kind convKind) {
		out = append(out, param{part: part, hf: hf, alt: alt, scope: scope, name: name, hfShape: hfShape, shape: shape, kind: kind, scale: 1})
	}
	// layerNorm adds a LayerNorm's gain and offset; old checkpoints call them gamma and beta.
	layerNorm := func(part, hf, scope string) {
		add(part, hf+".weight", []string{hf + ".gamma"}, scope+"/layer_normalization", "gain", []int{d}, []int{d}, convCopy)
		add(part, hf+".bias", []string{hf + ".beta"}, scope+"/layer_normalization", "offset", []int{d}, []int{d}, convCopy)
	}
	dense := func(part, hf, scope string, in int, outDims ...int) {
		n := 1
		for _, o := range outDims {
			n *= o
		}
		add(part, hf+".weight", nil, scope+"/dense", "weights", []int{n, in}, append([]int{in}, outDims...), convTranspose)
		add(part, hf+".bias", nil, scope+"/dense", "biases", []int{n}, outDims, convCopy)
	}
	const enc = partEncoder
	add(enc, "embeddings.word_embeddings.weight", nil, models.TokenTableScope, models.TokenTableName, []int{v, d}, []int{v, d}, convCopy)
	add(enc, "embeddings.position_embeddings.weight", nil, "/embeddings/position", "table", []int{hfPositions, d}, []int{p.MaxLen, d}, convRows)
	add(enc, "embeddings.token_type_embeddings.weight", nil, "/embeddings/segment", "table", []int{2, d}, []int{2, d}, convCopy)
	layerNorm(enc, "embeddings.LayerNorm", "/embeddings/layer_norm")
	for l := range p.Layers {
		hfL, our := fmt.Sprintf("encoder.layer.%d.", l), fmt.Sprintf("/encoder/layer_%d/", l)
		mha := our + "attention/MultiHeadAttention/"
		for _, proj := range []string{"query", "key", "value"} {
			dense(enc, hfL+"attention.self."+proj, mha+proj, d, h, hd)
			if proj == "query" {
				// gomlx's MultiHeadAttention divides the logits by √hd twice (query and logits), HF once: the
				// query projection is scaled by √hd so that (√hd·q)·k/hd = q·k/√hd.
				out[len(out)-1].scale = math.Sqrt(float64(hd))
				out[len(out)-2].scale = math.Sqrt(float64(hd))
			}
		}
		dense(enc, hfL+"attention.output.dense", mha+"output", d, d)
		layerNorm(enc, hfL+"attention.output.LayerNorm", our+"attention_norm")
		dense(enc, hfL+"intermediate.dense", our+"ffn_in", d, ffn)
		dense(enc, hfL+"output.dense", our+"ffn_out", ffn, d)
		layerNorm(enc, hfL+"output.LayerNorm", our+"ffn_norm")
	}
	dense(partPooler, "pooler.dense", "/pooler", d, d)
	dense(partMLM, "cls.predictions.transform.dense", "/mlm/transform", d, d)
	layerNorm(partMLM, "cls.predictions.transform.LayerNorm", "/mlm/layer_norm")
	add(partMLM, "cls.predictions.bias", []string{"cls.predictions.decoder.bias"}, "/mlm", "output_bias", []int{v}, []int{v}, convCopy)
	if numLabels > 0 {
		dense(partClassifier, "classifier", "/task_head", d, numLabels)
	}
	return out
}

// fullName is the checkpoint name of an encoder-part tensor under prefix ("" or "bert."); heads have fixed names.
func (pm param) fullName(prefix, name string) string {
	if pm.part == partEncoder || pm.part == partPooler {
		return prefix + name
	}
	return name
}

func (pm param) names(prefix string) []string {
	out := []string{pm.fullName(prefix, pm.hf)}
	for _, a := range pm.alt {
		out = append(out, pm.fullName(prefix, a))
	}
	return out
}

// toModel converts a checkpoint tensor's values to the model variable's layout.
func (pm param) toModel(data []float32) []float32 {
	var out []float32
	switch pm.kind {
	case convCopy:
		out = slices.Clone(data)
	case convTranspose:
		out = transpose(data, pm.hfShape[0], pm.hfShape[1])
	case convRows:
		out = slices.Clone(data[:product(pm.shape)])
	}
	if pm.scale != 1 {
		for i, x := range out {
			out[i] = float32(float64(x) * pm.scale)
		}
	}
	return out
}

// toHF converts a model variable's values to the checkpoint layout (the inverse of toModel; every position row
// the model has is written).
func (pm param) toHF(data []float32) []float32 {
	var out []float32
	switch pm.kind {
	case convCopy, convRows:
		out = slices.Clone(data)
	case convTranspose:
		out = transpose(data, pm.hfShape[1], pm.hfShape[0])
	}
	if pm.scale != 1 {
		for i, x := range out {
			out[i] = float32(float64(x) / pm.scale)
		}
	}
	return out
}

// transpose returns the [cols×rows] transpose of a row-major [rows×cols] matrix.
func transpose(a []float32, rows, cols int) []float32 {
	out := make([]float32, len(a))
	for r := range rows {
		for c := range cols {
			out[c*rows+r] = a[r*cols+c]
		}
	}
	return out
}

func product(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}
