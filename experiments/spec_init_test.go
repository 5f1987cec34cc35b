package experiments

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nanoCheckpointConfig writes a config.json of the nano shape (what the spec loader reads of a checkpoint).
func nanoCheckpointConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := `{"model_type": "bert", "vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 1,
"num_attention_heads": 2, "intermediate_size": 64, "hidden_act": "gelu", "max_position_embeddings": 512,
"type_vocab_size": 2, "layer_norm_eps": 1e-12}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestModelInitFromCheckpoint(t *testing.T) {
	dir := nanoCheckpointConfig(t)
	withInit := strings.Replace(base, `pretrain = "none"`, `init = "hf:`+dir+`"`, 1)
	s, err := parseString(t, withInit)
	if err != nil {
		t.Fatal(err)
	}
	none, err := parseString(t, base)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Runs[0]
	if r.Pretrain != "hf:"+dir || r.Preset != "nano" {
		t.Fatalf("run starts from %q on %s, want hf:%s on nano", r.Pretrain, r.Preset, dir)
	}
	if r.ID == none.Runs[0].ID {
		t.Error("the run id does not change with the init")
	}
	t.Setenv("CKPT_FOR_TEST", dir)
	viaVar, err := parseString(t, strings.Replace(base, `pretrain = "none"`, `init = "hf:$CKPT_FOR_TEST"`, 1))
	if err != nil {
		t.Fatal(err)
	}
	if viaVar.Runs[0].ID != r.ID {
		t.Error("init with an environment variable resolves to another run than the expanded path")
	}

	cases := []struct {
		name, spec string
		want       []string
	}{
		{"init and pretrain", strings.Replace(base, `pretrain = "none"`, `pretrain = "none"`+"\n"+`init = "hf:`+dir+`"`, 1),
			[]string{"line 9: model.init", "line 8: model.pretrain", "keep one"}},
		{"init and swept pretrain", strings.Replace(base, `pretrain = "none"`, `init = "hf:`+dir+`"`, 1) + "[sweep]\npretrain = [\"none\"]\n",
			[]string{"line 8: model.init", "sweep.pretrain"}},
		{"not hf:", strings.Replace(base, `pretrain = "none"`, `init = "`+dir+`"`, 1), []string{"line 8: model.init", `want "hf:DIR"`}},
		{"no directory", strings.Replace(base, `pretrain = "none"`, `init = "hf:"`, 1), []string{"line 8: model.init", "names no directory"}},
		{"missing checkpoint", strings.Replace(base, `pretrain = "none"`, `init = "hf:`+filepath.Join(dir, "nope")+`"`, 1),
			[]string{"line 8: model.init", "config.json"}},
		{"another shape", strings.Replace(strings.Replace(base, `pretrain = "none"`, `init = "hf:`+dir+`"`, 1), `preset = "nano"`, `preset = "tiny"`, 1),
			[]string{"line 8: model.init", "preset tiny", "line 7: model.preset"}},
		{"hf in pretrain", strings.Replace(base, `pretrain = "none"`, `pretrain = "hf:`+dir+`"`, 1), []string{"line 8: model.pretrain", "model.init"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseString(t, c.spec)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
