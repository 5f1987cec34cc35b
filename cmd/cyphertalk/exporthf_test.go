package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/hf"
)

// builtNano is a nano model over the real vocabulary with every variable built (encoder, pooler, a 2-label task
// head and the MLM head), saved to a weight file.
func builtNano(t *testing.T, V int) string {
	t.Helper()
	m := testkit.NanoModel(t, V, 4)
	pr, err := m.NewPredictor(func(ctx *context.Context, in []*Node) []*Node {
		h := m.Encode(ctx, models.Inputs{IDs: in[0], Segments: in[0], Mask: in[0]}, -1)
		pooled := m.Pool(ctx, h)
		flat := Reshape(h, -1, m.Preset.Hidden)
		return []*Node{m.TaskHead(ctx, pooled, 2), m.MLMLabelLogits(ctx, m.MLMTransform(ctx, flat), Reshape(in[0], -1))}
	})
	if err != nil {
		t.Fatal(err)
	}
	ones := tensors.FromFlatDataAndDimensions([]int32{1, 1, 1, 1}, 1, 4)
	outs, err := pr.Run(ones)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		o.FinalizeAll()
	}
	path := filepath.Join(t.TempDir(), "nano.bin")
	if err := m.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExportHFThenFinetuneFromIt exports a weight file with `export-hf`, then fine-tunes from the checkpoint
// with `finetune --init hf:DIR`; a checkpoint whose vocab.txt differs is refused, naming the line.
func TestExportHFThenFinetuneFromIt(t *testing.T) {
	d, tok := testkit.Tokenizer(t)
	weights := builtNano(t, tok.VocabSize())
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	out, err := run(t, "--data", d, "export-hf", "--weights", weights, "--out", ckpt)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := hf.ReadConfig(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HiddenSize != 32 || cfg.VocabSize != tok.VocabSize() || cfg.NumLabels != 2 || cfg.Architectures[0] != "BertForMaskedLM" {
		t.Fatalf("exported config %+v (output %q)", cfg, out)
	}
	cache := t.TempDir()
	out, err = run(t, "--data", d, "--cache", cache, "finetune", "--init", "hf:"+ckpt, "--task", "sst2",
		"--max-train", "48", "--max-eval", "32", "--epochs", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Hugging Face checkpoint") || !strings.Contains(out, "nano:") || !strings.Contains(out, "hf:"+ckpt) {
		t.Fatalf("fine-tuning from the checkpoint did not say what it imported or report it:\n%s", out)
	}
	if _, err := run(t, "--data", d, "--cache", cache, "finetune", "--init", "hf:"+ckpt, "--preset", "tiny"); err == nil ||
		!strings.Contains(err.Error(), "preset tiny") {
		t.Errorf("--preset of another shape: got %v", err)
	}
	vocab, err := os.ReadFile(filepath.Join(ckpt, hf.VocabFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(vocab), "\n")
	lines[1000] = "not-the-project-token"
	if err := os.WriteFile(filepath.Join(ckpt, hf.VocabFile), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--data", d, "--cache", cache, "finetune", "--init", "hf:"+ckpt, "--max-train", "16"); err == nil ||
		!strings.Contains(err.Error(), "line 1001") {
		t.Errorf("a different vocab.txt: got %v, want the first differing line named", err)
	}
}
