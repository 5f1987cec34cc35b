package operators

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseChainRoundTrip(t *testing.T) {
	want := []OpSpec{
		{Op: "gaussian", Params: map[string]float64{"sigma": 0.5}},
		{Op: "tilt", Params: map[string]float64{"angle": 0.3}},
		{Op: "dx-fixp", Params: map[string]float64{"epsilon": 12.25}},
		{Op: "laplace", Params: map[string]float64{"b": 1e-3}},
		{Op: "addv", Params: map[string]float64{"scale": 0.1}},
		{Op: "inflate", Params: map[string]float64{"scale": 0}},
	}
	canonical := "gaussian:sigma=0.5;tilt:angle=0.3;dx-fixp:epsilon=12.25;laplace:b=0.001;addv:scale=0.1;inflate:scale=0"
	if got := FormatChain(want); got != canonical {
		t.Errorf("FormatChain = %q, want %q", got, canonical)
	}
	for _, s := range []string{
		canonical,
		"gaussian:sigma=0.5,tilt:angle=0.3,dx-fixp:epsilon=12.25,laplace:b=1e-3,addv:scale=.1,inflate:scale=0",
		" gaussian : sigma = 0.5 ; tilt:angle=0.3, dx-fixp:epsilon=12.25;laplace:b=0.001;addv:scale=0.1;inflate:scale=0 ",
	} {
		got, err := ParseChain(s)
		if err != nil {
			t.Fatalf("ParseChain(%q): %v", s, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseChain(%q) = %v, want %v", s, got, want)
		}
		if again, _ := ParseChain(FormatChain(got)); !reflect.DeepEqual(again, want) {
			t.Errorf("round trip of %q gave %v", s, again)
		}
	}
	if c, err := ParseChain("  "); err != nil || len(c) != 0 {
		t.Errorf("empty spec: %v, %v", c, err)
	}
}

func TestParseChainErrors(t *testing.T) {
	all := "addv, inflate, tilt, gaussian, laplace, dx-fixp"
	for _, tc := range []struct{ spec, want string }{
		{"gausian:sigma=0.5", "unknown operator \"gausian\" (valid operators: " + all + ")"},
		{"gaussian:sigma=0.5;rotate:angle=1", "valid operators: " + all},
		{"gaussian:sgma=0.5", "unknown parameter \"sgma\" (valid parameters: sigma)"},
		{"tilt:angle=0.1,sigma=2", "unknown parameter \"sigma\" (valid parameters: angle)"},
		{"gaussian", "missing parameters"},
		{"gaussian:sigma=0.5,tilt", "operator tilt: missing parameters"},
		{"gaussian:", "is not param=value (valid parameters: sigma)"},
		{"gaussian:sigma=", "has no value"},
		{"gaussian:sigma=-0.5", "sigma = -0.5 must be >= 0"},
		{"gaussian:sigma=abc", "is not a finite number"},
		{"gaussian:sigma=NaN", "is not a finite number"},
		{"gaussian:sigma=Inf", "is not a finite number"},
		{"dx-fixp:epsilon=0", "epsilon = 0 must be > 0"},
		{"tilt:angle=4", "must be <= 3.14159"},
		{"gaussian:sigma=1,sigma=2", "given twice"},
		{"gaussian:sigma=1;;tilt:angle=1", "empty item"},
		{"gaussian:sigma=1;", "empty item"},
		{"sigma=1", "must follow an operator"},
		{"gaussian:sigma=1;angle=1", "must follow an operator"},
	} {
		_, err := ParseChain(tc.spec)
		if err == nil {
			t.Errorf("ParseChain(%q) accepted", tc.spec)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseChain(%q) error %q, want it to contain %q", tc.spec, err, tc.want)
		}
	}
}

func TestParseOpMap(t *testing.T) {
	got, err := ParseChainMaps([]map[string]any{
		{"op": "gaussian", "sigma": 0.5},
		{"op": "dx-fixp", "epsilon": int64(40)},
	})
	want := []OpSpec{{Op: "gaussian", Params: map[string]float64{"sigma": 0.5}}, {Op: "dx-fixp", Params: map[string]float64{"epsilon": 40}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseChainMaps = %v, %v; want %v", got, err, want)
	}
	for _, tc := range []struct {
		m    map[string]any
		want string
	}{
		{map[string]any{"sigma": 0.5}, "missing key \"op\""},
		{map[string]any{"op": 3}, "must be a string"},
		{map[string]any{"op": "gauss", "sigma": 0.5}, "valid operators: addv, inflate, tilt, gaussian, laplace, dx-fixp"},
		{map[string]any{"op": "laplace", "sigma": 0.5}, "unknown parameter \"sigma\" (valid parameters: b)"},
		{map[string]any{"op": "laplace", "b": "0.5"}, "is not a number"},
		{map[string]any{"op": "laplace"}, "missing parameter b"},
		{map[string]any{"op": "laplace", "b": -1}, "must be >= 0"},
	} {
		_, err := ParseOpMap(tc.m)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseOpMap(%v) error %v, want it to contain %q", tc.m, err, tc.want)
		}
	}
}

func TestOpSpecBuildsEveryOperator(t *testing.T) {
	for _, info := range Operators() {
		p := map[string]float64{}
		for _, q := range info.Params {
			p[q.Name] = q.Default.Lo
		}
		op, err := OpSpec{Op: info.Name, Params: p}.Operator()
		if err != nil {
			t.Fatal(err)
		}
		if op.Name() != info.Name || !reflect.DeepEqual(op.Params(), p) {
			t.Errorf("spec %s built %s %v", info.Name, op.Name(), op.Params())
		}
	}
}

func TestRandomChain(t *testing.T) {
	seed := SeedFromUint64(5)
	rc := RandomChain{N: 60, Allowed: []string{"gaussian", "tilt", "dx-fixp"},
		Ranges: map[string]map[string]Range{"gaussian": {"sigma": {0.2, 0.3}}}}
	a, err := rc.Draw(seed)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := rc.Draw(seed)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed drew different chains")
	}
	if c, _ := rc.Draw(SeedFromUint64(6)); reflect.DeepEqual(a, c) {
		t.Error("another seed drew the same chain")
	}
	count := map[string]int{}
	for _, s := range a {
		count[s.Op]++
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
		switch s.Op {
		case "gaussian":
			if v := s.Params["sigma"]; v < 0.2 || v > 0.3 {
				t.Errorf("sigma %v outside the configured [0.2, 0.3]", v)
			}
		case "tilt":
			if v := s.Params["angle"]; v < 0.05 || v > 0.5 {
				t.Errorf("angle %v outside the default [0.05, 0.5]", v)
			}
		case "dx-fixp":
			if v := s.Params["epsilon"]; v < 30 || v > 300 {
				t.Errorf("epsilon %v outside the default [30, 300]", v)
			}
		default:
			t.Errorf("drew %s, not in the allowed set", s.Op)
		}
	}
	if len(a) != 60 || count["gaussian"] < 8 || count["tilt"] < 8 || count["dx-fixp"] < 8 {
		t.Errorf("drew %d operators: %v", len(a), count)
	}

	// Keys drawn from one seed are identical, and keep the drawn chain.
	opt := KeyOptions{VocabSize: testV, Special: testSpecial, Horizontal: true, Random: &RandomChain{N: 3}}
	k1, err := NewKey(seed, opt)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := NewKey(seed, opt)
	if k1.Fingerprint() != k2.Fingerprint() || k1.VSN() != 3 {
		t.Errorf("random keys from one seed differ or have vsn %d", k1.VSN())
	}

	for _, tc := range []struct {
		rc   RandomChain
		want string
	}{
		{RandomChain{N: 0}, "N = 0"},
		{RandomChain{N: 2, Allowed: []string{"blur"}}, "valid operators"},
		{RandomChain{N: 2, Allowed: []string{"tilt", "tilt"}}, "allowed twice"},
		{RandomChain{N: 2, Allowed: []string{"tilt"}, Ranges: map[string]map[string]Range{"tilt": {"angle": {0.5, 0.1}}}}, "is empty"},
		{RandomChain{N: 2, Allowed: []string{"tilt"}, Ranges: map[string]map[string]Range{"tilt": {"angle": {0.1, 5}}}}, "must be <="},
		{RandomChain{N: 2, Ranges: map[string]map[string]Range{"tilt": {"sigma": {0.1, 0.2}}}}, "valid parameters: angle"},
	} {
		if _, err := tc.rc.Draw(seed); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Draw(%+v) error %v, want it to contain %q", tc.rc, err, tc.want)
		}
	}
}
