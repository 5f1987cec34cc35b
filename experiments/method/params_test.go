package method

import (
	"strings"
	"testing"
)

type testParams struct {
	Sigma  float64   `param:"sigma"`
	Steps  int       `param:"steps"`
	Ops    string    `param:"ops"`
	Frozen bool      `param:"frozen"`
	Eps    []float64 `param:"eps"`
	hidden int
}

func TestDecodeParams(t *testing.T) {
	p := testParams{Steps: 7}
	err := DecodeParams(map[string]any{"sigma": int64(2), "ops": "gaussian:sigma=1", "frozen": true,
		"eps": []any{1.0, int64(4)}}, &p)
	if err != nil {
		t.Fatal(err)
	}
	if p.Sigma != 2 || p.Steps != 7 || p.Ops != "gaussian:sigma=1" || !p.Frozen || len(p.Eps) != 2 || p.Eps[1] != 4 {
		t.Fatalf("decoded %+v", p)
	}
	err = DecodeParams(map[string]any{"sigmaa": 1.0}, &p)
	if err == nil || !strings.Contains(err.Error(), `"sigmaa"`) || !strings.Contains(err.Error(), "sigma, steps") {
		t.Fatalf("unknown key error = %v", err)
	}
	if err := DecodeParams(map[string]any{"steps": 1.5}, &p); err == nil || !strings.Contains(err.Error(), `"steps"`) {
		t.Fatalf("non-integer steps error = %v", err)
	}
	if err := DecodeParams(map[string]any{"ops": 3.0}, &p); err == nil {
		t.Fatal("a number for a string parameter was accepted")
	}
}
