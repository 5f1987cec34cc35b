package plaintext

import (
	"testing"
)

func TestDecodeConfig(t *testing.T) {
	if cfg, err := DecodeConfig(map[string]any{}); err != nil || cfg.Table != "trainable" {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	for _, bad := range []map[string]any{{"table": "moving"}, {"tabel": "frozen"}} {
		if _, err := DecodeConfig(bad); err == nil {
			t.Errorf("DecodeConfig(%v) accepted", bad)
		}
	}
}
