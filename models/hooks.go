package models

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// EncodeFrom runs the upper part of the encoder of a model split after layer fromLayer: x [B,T,d] is the output
// of layer fromLayer (0 = the embedding layer output, as Encode(ctx, in, fromLayer) returns it), and EncodeFrom
// runs layers fromLayer+1 … L and, for a pre-LN model, the final norm. Encode(ctx, in, k) followed by
// EncodeFrom(ctx, ·, in.Mask, k) is Encode(ctx, in, -1). Baselines that split the model between the client
// (the lower layers, whose output it perturbs) and the cloud (the rest) use it.
func (m *Model) EncodeFrom(ctx *context.Context, x, mask *Node, fromLayer int) *Node {
	p := m.Preset
	if fromLayer < 0 || fromLayer > p.Layers {
		panic(fmt.Sprintf("EncodeFrom: layer %d outside 0…%d", fromLayer, p.Layers))
	}
	keyMask := ConvertDType(mask, dtypes.Bool)
	for l := fromLayer; l < p.Layers; l++ {
		x = m.layer(ctx.In("encoder").In(fmt.Sprintf("layer_%d", l)), x, keyMask)
	}
	if p.PreLN {
		x = layerNorm(ctx.In("encoder").In("final_norm"), x)
	}
	return x
}

// LowerScopes are the variable scopes of the layers up to and including layer k (0 = only the embedding layer:
// token, position and segment tables and the embedding LayerNorm): the part of a model split after layer k that
// the client holds. UpperScopes are the rest (layers k+1 … L, the final norm, the pooler and the task head).
func LowerScopes(k int) []string {
	out := []string{"/embeddings"}
	for l := range k {
		out = append(out, fmt.Sprintf("/encoder/layer_%d/", l)) // the slash keeps layer_1 from matching layer_10
	}
	return out
}

// UpperScopes is the complement of LowerScopes(k) among the fine-tuned scopes (see LowerScopes).
func UpperScopes(k, layers int) []string {
	var out []string
	for l := k; l < layers; l++ {
		out = append(out, fmt.Sprintf("/encoder/layer_%d/", l))
	}
	return append(out, "/encoder/final_norm", "/pooler", "/task_head")
}
