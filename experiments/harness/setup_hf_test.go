package harness

import (
	stdctx "context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/hf"
)

// TestSetupFromHFCheckpoint: a run whose pretrain is "hf:DIR" starts from the checkpoint's weights (imported
// once into the cache, then reused), and a run of another preset is refused.
func TestSetupFromHFCheckpoint(t *testing.T) {
	dir, tok := testkit.Tokenizer(t)
	src := testkit.NanoModel(t, tok.VocabSize(), 3)
	pr, err := src.NewPredictor(func(ctx *context.Context, in []*Node) []*Node {
		h := src.Encode(ctx, models.Inputs{IDs: in[0], Segments: in[0], Mask: in[0]}, -1)
		return []*Node{src.MLMLabelLogits(ctx, src.MLMTransform(ctx, Reshape(h, -1, src.Preset.Hidden)), Reshape(in[0], -1)), src.Pool(ctx, h)}
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := pr.Run(tensors.FromFlatDataAndDimensions([]int32{1, 1, 1}, 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		o.FinalizeAll()
	}
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	if err := hf.Export(src, ckpt, hf.Tokens(tok)); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	env := method.Env{DataDir: dir, CacheDir: cache, Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	run := method.Run{Task: "sst2", Preset: "nano", Pretrain: hf.InitPrefix + ckpt, MaxTrain: 16, MaxEval: 8, Seed: 1}
	s, err := NewSetup(stdctx.Background(), env, run)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.BasePath, cache) {
		t.Errorf("base path %s is not in the cache %s", s.BasePath, cache)
	}
	if !slices.Equal(s.Public.TokenTable(), src.TokenTable()) || !slices.Equal(s.Public.MLMBias(), src.MLMBias()) {
		t.Error("the public model does not hold the checkpoint's token table and MLM bias")
	}
	again, err := NewSetup(stdctx.Background(), env, run)
	if err != nil {
		t.Fatal(err)
	}
	if again.BasePath != s.BasePath {
		t.Errorf("second setup imported again: %s, then %s", s.BasePath, again.BasePath)
	}
	run.Preset = "tiny"
	if _, err := NewSetup(stdctx.Background(), env, run); err == nil || !strings.Contains(err.Error(), "preset tiny") {
		t.Errorf("a run of another preset: got %v", err)
	}
}
