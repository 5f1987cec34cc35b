package operators

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ParamInfo describes one operator parameter: its domain and the range RandomChain draws it from by default.
type ParamInfo struct {
	Name string
	Doc  string
	// Min is the smallest allowed value (inclusive, or exclusive when MinExclusive); Max the largest
	// (inclusive; +Inf when unbounded).
	Min          float64
	MinExclusive bool
	Max          float64
	// Default is the range random chains draw this parameter from unless configured otherwise.
	Default Range
}

func (p ParamInfo) check(op string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("operator %s: parameter %s = %v must be a finite number", op, p.Name, v)
	}
	if p.MinExclusive && v <= p.Min {
		return fmt.Errorf("operator %s: parameter %s = %v must be > %v", op, p.Name, v, p.Min)
	}
	if !p.MinExclusive && v < p.Min {
		return fmt.Errorf("operator %s: parameter %s = %v must be >= %v", op, p.Name, v, p.Min)
	}
	if v > p.Max {
		return fmt.Errorf("operator %s: parameter %s = %v must be <= %v", op, p.Name, v, p.Max)
	}
	return nil
}

// OpInfo is a registry entry: an operator's name, documentation, parameters and constructor.
type OpInfo struct {
	Name   string
	Doc    string
	Params []ParamInfo
	build  func(p map[string]float64) Operator
}

// ParamNames returns the operator's parameter names in order.
func (o OpInfo) ParamNames() []string {
	names := make([]string, len(o.Params))
	for i, p := range o.Params {
		names[i] = p.Name
	}
	return names
}

func (o OpInfo) param(name string) (ParamInfo, bool) {
	for _, p := range o.Params {
		if p.Name == name {
			return p, true
		}
	}
	return ParamInfo{}, false
}

var inf = math.Inf(1)

// registry lists the vertical operators of docs/design.md §2 in table order.
var registry = []OpInfo{
	{Name: "addv", Doc: "e + v, one v ~ N(0, (scale·s_E)² I) for the table",
		Params: []ParamInfo{{Name: "scale", Doc: "std of v in units of s_E", Min: 0, Max: inf, Default: Range{0.1, 1}}},
		build:  func(p map[string]float64) Operator { return AddV{Scale: p["scale"]} }},
	{Name: "inflate", Doc: "e ⊙ (1 + u), one u_j ~ U(0, scale) for the table",
		Params: []ParamInfo{{Name: "scale", Doc: "upper bound of u_j", Min: 0, Max: inf, Default: Range{0.05, 0.5}}},
		build:  func(p map[string]float64) Operator { return Inflate{Scale: p["scale"]} }},
	{Name: "tilt", Doc: "e · R, R = d/2 Givens rotations on a random pairing, angles ~ U(-angle, angle)",
		Params: []ParamInfo{{Name: "angle", Doc: "largest rotation angle in radians", Min: 0, Max: math.Pi, Default: Range{0.05, 0.5}}},
		build:  func(p map[string]float64) Operator { return Tilt{Angle: p["angle"]} }},
	{Name: "gaussian", Doc: "e + n, n ~ N(0, (sigma·s_E)² I) once per row",
		Params: []ParamInfo{{Name: "sigma", Doc: "noise std in units of s_E", Min: 0, Max: inf, Default: Range{0.1, 1}}},
		build:  func(p map[string]float64) Operator { return Gaussian{Sigma: p["sigma"]} }},
	{Name: "laplace", Doc: "e + n, n_j ~ Laplace(0, b·s_E) once per row",
		Params: []ParamInfo{{Name: "b", Doc: "Laplace scale in units of s_E", Min: 0, Max: inf, Default: Range{0.1, 1}}},
		build:  func(p map[string]float64) Operator { return Laplace{B: p["b"]} }},
	{Name: "dx-fixp", Doc: "e + r·w, w uniform on the sphere, r ~ Gamma(d, s_E/epsilon), once per row",
		Params: []ParamInfo{{Name: "epsilon", Doc: "metric-DP epsilon (mean noise norm d·s_E/epsilon)", Min: 0, MinExclusive: true, Max: inf, Default: Range{30, 300}}},
		build:  func(p map[string]float64) Operator { return DXFixp{Epsilon: p["epsilon"]} }},
}

// OperatorNames returns the registered vertical operators in docs/design.md order.
func OperatorNames() []string {
	names := make([]string, len(registry))
	for i, o := range registry {
		names[i] = o.Name
	}
	return names
}

// Operators returns the registry entries in docs/design.md order.
func Operators() []OpInfo { return slices.Clone(registry) }

// LookupOperator returns the registry entry of name, or an error listing the valid operators.
func LookupOperator(name string) (OpInfo, error) {
	for _, o := range registry {
		if o.Name == name {
			return o, nil
		}
	}
	return OpInfo{}, fmt.Errorf("unknown operator %q (valid operators: %s)", name, strings.Join(OperatorNames(), ", "))
}

// validateParams checks that params has exactly the operator's parameters, each within its domain.
func validateParams(op string, params map[string]float64) error {
	info, err := LookupOperator(op)
	if err != nil {
		return err
	}
	for _, name := range sortedKeys(params) {
		if _, ok := info.param(name); !ok {
			return fmt.Errorf("operator %s: unknown parameter %q (valid parameters: %s)", op, name, strings.Join(info.ParamNames(), ", "))
		}
	}
	for _, p := range info.Params {
		v, ok := params[p.Name]
		if !ok {
			return fmt.Errorf("operator %s: missing parameter %s (valid parameters: %s)", op, p.Name, strings.Join(info.ParamNames(), ", "))
		}
		if err := p.check(op, v); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// OpSpec is one element of the vertical key: an operator name (vsops[k]) and its parameters (vsopts[k]).
type OpSpec struct {
	Op     string             `json:"op"`
	Params map[string]float64 `json:"params"`
}

// Validate checks the operator name and its parameters.
func (s OpSpec) Validate() error { return validateParams(s.Op, s.Params) }

// Operator builds the operator after validating the spec.
func (s OpSpec) Operator() (Operator, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	info, _ := LookupOperator(s.Op)
	return info.build(s.Params), nil
}

// String formats the spec as "op:k=v,k=v" with parameters sorted by name and values in Go's shortest
// round-trip form, so ParseOp(s.String()) == s.
func (s OpSpec) String() string {
	var b strings.Builder
	b.WriteString(s.Op)
	for i, k := range sortedKeys(s.Params) {
		if i == 0 {
			b.WriteByte(':')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(s.Params[k], 'g', -1, 64))
	}
	return b.String()
}

func (s OpSpec) clone() OpSpec {
	p := make(map[string]float64, len(s.Params))
	for k, v := range s.Params {
		p[k] = v
	}
	return OpSpec{Op: s.Op, Params: p}
}

func cloneChain(c []OpSpec) []OpSpec {
	out := make([]OpSpec, len(c))
	for i, s := range c {
		out[i] = s.clone()
	}
	return out
}

// FormatChain formats a chain in the canonical spec grammar: operators joined by ";", e.g.
// "gaussian:sigma=0.5;tilt:angle=0.3".
func FormatChain(chain []OpSpec) string {
	parts := make([]string, len(chain))
	for i, s := range chain {
		parts[i] = s.String()
	}
	return strings.Join(parts, ";")
}

// ParseChain parses a vertical chain.
//
// Grammar (whitespace around items is ignored):
//
//	chain := "" | item { sep item }
//	sep   := ";" | ","
//	item  := op ":" param       — starts a new operator
//	       | param              — one more parameter of the current operator
//	param := name "=" number
//
// An item containing ':' always starts a new operator and parameter names never contain ':', so both
// "gaussian:sigma=0.5;tilt:angle=0.3" (canonical, see FormatChain) and "gaussian:sigma=0.5,tilt:angle=0.3"
// parse to the same chain; after ";" an operator must follow. Numbers are Go floats (strconv.ParseFloat),
// finite. Every operator must be given all of its parameters, each exactly once.
func ParseChain(s string) ([]OpSpec, error) {
	var chain []OpSpec
	if strings.TrimSpace(s) == "" {
		return chain, nil
	}
	for _, seg := range strings.Split(s, ";") {
		for ii, item := range strings.Split(seg, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				return nil, fmt.Errorf("spec %q: empty item (operators are separated by ';' or ',', e.g. \"gaussian:sigma=0.5;tilt:angle=0.3\")", s)
			}
			name, rest, isOp := strings.Cut(item, ":")
			if !isOp {
				if !strings.Contains(item, "=") { // a bare word: an operator without its parameters
					info, err := LookupOperator(item)
					if err != nil {
						return nil, fmt.Errorf("spec %q: %w", s, err)
					}
					return nil, fmt.Errorf("spec %q: operator %s: missing parameters, write %s:%s=value (valid parameters: %s)", s, item, item, info.Params[0].Name, strings.Join(info.ParamNames(), ", "))
				}
				if ii == 0 {
					return nil, fmt.Errorf("spec %q: parameter %q must follow an operator written as op:param=value (valid operators: %s)", s, item, strings.Join(OperatorNames(), ", "))
				}
				if err := addParam(s, &chain[len(chain)-1], item); err != nil {
					return nil, err
				}
				continue
			}
			name = strings.TrimSpace(name)
			if _, err := LookupOperator(name); err != nil {
				return nil, fmt.Errorf("spec %q: %w", s, err)
			}
			chain = append(chain, OpSpec{Op: name, Params: map[string]float64{}})
			if err := addParam(s, &chain[len(chain)-1], strings.TrimSpace(rest)); err != nil {
				return nil, err
			}
		}
	}
	for _, op := range chain {
		if err := op.Validate(); err != nil {
			return nil, fmt.Errorf("spec %q: %w", s, err)
		}
	}
	return chain, nil
}

func addParam(spec string, op *OpSpec, item string) error {
	info, _ := LookupOperator(op.Op)
	k, v, ok := strings.Cut(item, "=")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if !ok || k == "" {
		return fmt.Errorf("spec %q: operator %s: %q is not param=value (valid parameters: %s)", spec, op.Op, item, strings.Join(info.ParamNames(), ", "))
	}
	if _, known := info.param(k); !known {
		return fmt.Errorf("spec %q: operator %s: unknown parameter %q (valid parameters: %s)", spec, op.Op, k, strings.Join(info.ParamNames(), ", "))
	}
	if _, dup := op.Params[k]; dup {
		return fmt.Errorf("spec %q: operator %s: parameter %s given twice", spec, op.Op, k)
	}
	if v == "" {
		return fmt.Errorf("spec %q: operator %s: parameter %s has no value", spec, op.Op, k)
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("spec %q: operator %s: parameter %s = %q is not a finite number", spec, op.Op, k, v)
	}
	op.Params[k] = x
	return nil
}

// ParseOpMap reads one operator from a TOML-like table, e.g. {op = "gaussian", sigma = 0.5}: the key "op"
// names the operator, every other key is a parameter with a numeric value (any Go integer or float type).
func ParseOpMap(m map[string]any) (OpSpec, error) {
	raw, ok := m["op"]
	if !ok {
		return OpSpec{}, fmt.Errorf("operator table %v: missing key \"op\" (valid operators: %s)", m, strings.Join(OperatorNames(), ", "))
	}
	name, ok := raw.(string)
	if !ok {
		return OpSpec{}, fmt.Errorf("operator table: \"op\" must be a string, got %T (valid operators: %s)", raw, strings.Join(OperatorNames(), ", "))
	}
	info, err := LookupOperator(name)
	if err != nil {
		return OpSpec{}, err
	}
	spec := OpSpec{Op: name, Params: map[string]float64{}}
	for _, k := range sortedKeys(m) {
		if k == "op" {
			continue
		}
		if _, known := info.param(k); !known {
			return OpSpec{}, fmt.Errorf("operator %s: unknown parameter %q (valid parameters: %s)", name, k, strings.Join(info.ParamNames(), ", "))
		}
		x, err := toFloat(m[k])
		if err != nil {
			return OpSpec{}, fmt.Errorf("operator %s: parameter %s: %w", name, k, err)
		}
		spec.Params[k] = x
	}
	if err := spec.Validate(); err != nil {
		return OpSpec{}, err
	}
	return spec, nil
}

// ParseChainMaps reads a chain from a list of TOML-like tables (see ParseOpMap).
func ParseChainMaps(ms []map[string]any) ([]OpSpec, error) {
	chain := make([]OpSpec, 0, len(ms))
	for i, m := range ms {
		s, err := ParseOpMap(m)
		if err != nil {
			return nil, fmt.Errorf("operator %d: %w", i, err)
		}
		chain = append(chain, s)
	}
	return chain, nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int8:
		return float64(x), nil
	case int16:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint:
		return float64(x), nil
	case uint8:
		return float64(x), nil
	case uint16:
		return float64(x), nil
	case uint32:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	default:
		return 0, fmt.Errorf("value %v (%T) is not a number", v, v)
	}
}

// Range is a closed interval [Lo, Hi] that a random chain draws a parameter from uniformly.
type Range struct{ Lo, Hi float64 }

// RandomChain configures a randomly drawn vertical chain: N operators (vsn) drawn uniformly with replacement
// from Allowed, each parameter drawn uniformly from its range.
type RandomChain struct {
	// N is vsn, the number of operators; must be >= 1.
	N int
	// Allowed are the operators to draw from; empty means all registered operators.
	Allowed []string
	// Ranges[op][param] overrides the registry's default range (ParamInfo.Default).
	Ranges map[string]map[string]Range
}

// Draw draws the chain from seed (through ChaCha8(SHA-256("cyphertalk/keygen/v1" || seed))). The same seed
// and configuration always give the same chain.
func (rc RandomChain) Draw(seed Seed) ([]OpSpec, error) {
	if rc.N < 1 {
		return nil, fmt.Errorf("random chain: N = %d operators, want >= 1", rc.N)
	}
	allowed := rc.Allowed
	if len(allowed) == 0 {
		allowed = OperatorNames()
	}
	seen := map[string]bool{}
	infos := make([]OpInfo, len(allowed))
	for i, name := range allowed {
		info, err := LookupOperator(name)
		if err != nil {
			return nil, fmt.Errorf("random chain: %w", err)
		}
		if seen[name] {
			return nil, fmt.Errorf("random chain: operator %s allowed twice", name)
		}
		seen[name] = true
		infos[i] = info
	}
	for _, op := range sortedKeys(rc.Ranges) {
		info, err := LookupOperator(op)
		if err != nil {
			return nil, fmt.Errorf("random chain ranges: %w", err)
		}
		for _, p := range sortedKeys(rc.Ranges[op]) {
			if _, ok := info.param(p); !ok {
				return nil, fmt.Errorf("random chain ranges: operator %s: unknown parameter %q (valid parameters: %s)", op, p, strings.Join(info.ParamNames(), ", "))
			}
		}
	}
	r := newRNG(deriveSeed(labelKeygen, seed[:], nil))
	chain := make([]OpSpec, rc.N)
	for k := range chain {
		info := infos[r.uintn(uint64(len(infos)))]
		spec := OpSpec{Op: info.Name, Params: map[string]float64{}}
		for _, p := range info.Params { // registry order: fixed
			rg := p.Default
			if o, ok := rc.Ranges[info.Name][p.Name]; ok {
				rg = o
			}
			if !(rg.Lo <= rg.Hi) {
				return nil, fmt.Errorf("random chain: operator %s: range of %s [%v, %v] is empty", info.Name, p.Name, rg.Lo, rg.Hi)
			}
			if err := p.check(info.Name, rg.Lo); err != nil {
				return nil, fmt.Errorf("random chain: range low end: %w", err)
			}
			if err := p.check(info.Name, rg.Hi); err != nil {
				return nil, fmt.Errorf("random chain: range high end: %w", err)
			}
			u := r.float64()
			x := rg.Lo + float64((rg.Hi-rg.Lo)*u)
			spec.Params[p.Name] = min(x, rg.Hi)
		}
		chain[k] = spec
	}
	return chain, nil
}
