// Package ckks owns the he-ckks baseline's engine (docs/design.md §5, THE-X style): the crypto-friendly model of
// baselines/cryptofriendly evaluated on CKKS ciphertexts with github.com/tuneinsight/lattigo/v6. The client
// generates the keys, encrypts its embedded input and decrypts the logits; the cloud holds only the
// evaluation keys and computes with its plaintext weights on the encrypted activations.
//
// Lattigo provides the scheme, rescaling, rotations and the polynomial evaluator. What is written here is what
// no library provides for this model: the packing of matrices into slots (Layout), x·W as baby-step
// giant-step diagonal maps with rotation keys fixed in advance, the encrypted×encrypted matrix products of
// attention (Jiang et al., "Secure Outsourced Matrix Computation and Application to Neural Networks", CCS 2018,
// adapted to the column-major packing), the level policy, and the cost accounting by party.
//
// Depth policy: every product is rescaled at once; a ciphertext never goes below level 1 (level 0 leaves
// only 2^10 of headroom above the 2^34 scale, too little for row sums of squares); before an operation whose
// depth the operands lack, they are refreshed by a client round trip (the client decrypts and re-encrypts at
// the top level; counted in bytes each way and one round). Reciprocal and InvSqrt are evaluated the same way,
// by the client in the clear, as THE-X does for its non-polynomial layers; there is no bootstrapping.
package ckks

import (
	"fmt"
	"log/slog"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/schemes/ckks"
	"github.com/tuneinsight/lattigo/v6/utils/bignum"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// Name is the method name of the baseline.
const Name = "he-ckks"

// minLevel is the lowest level a ciphertext is left at (see the package comment).
const minLevel = 1

// Config chooses the engine's parameters.
type Config struct {
	// Parameters is the CKKS parameter set ("" = Secure128).
	Parameters ParameterSet
	// MaxRows is the longest sequence the engine will see; every matrix has at most RowStride rows, and the
	// operands of MatMul and MatMulT at most RowStride columns too.
	MaxRows int
	// RowStride is the packing's row stride (a power of two ≥ MaxRows); 0 = the smallest one.
	RowStride int
	// Log receives set-up messages (nil: slog.Default()).
	Log *slog.Logger
}

// Costs are an engine's measured costs over a span of work.
type Costs struct {
	ClientSeconds float64 // key generation, encryption, decryption, client-side non-linear layers
	CloudSeconds  float64 // homomorphic evaluation
	// WireSeconds is the time spent serialising and deserialising what was sent (a network would add its own).
	WireSeconds   float64
	BytesToCloud  int64 // marshalled ciphertexts and evaluation keys, client → cloud
	BytesToClient int64 // marshalled ciphertexts, cloud → client
	// Rounds counts the interactive round trips: Refreshes plus ClientNonlinear. The upload of the input and the
	// download of the result are not counted (a one-shot protocol has 0).
	Rounds          int64
	Refreshes       int64 // round trips to restore depth
	ClientNonlinear int64 // round trips for Reciprocal and InvSqrt
	// OutOfRange counts Reciprocal/InvSqrt inputs the client saw outside their promised interval.
	OutOfRange int64
	// CiphertextsToCloud and CiphertextsToClient count what was sent; EvaluationKeys the keys (offline).
	CiphertextsToCloud, CiphertextsToClient, EvaluationKeys int64
	// Calls counts engine calls by cryptofriendly operation name.
	Calls map[string]int64
	// Primitives counts the cloud's homomorphic operations (online only), for extrapolation by counts.
	Primitives Primitives
}

// MethodCost converts the costs into a method.Cost of the given phase, over units of unitName.
func (c Costs) MethodCost(phase string, units int, unitName string) method.Cost {
	return method.Cost{
		Phase:         phase,
		ClientSeconds: c.ClientSeconds,
		CloudSeconds:  c.CloudSeconds,
		BytesToCloud:  c.BytesToCloud,
		BytesToClient: c.BytesToClient,
		Rounds:        c.Rounds,
		Units:         units,
		UnitName:      unitName,
	}
}

// Engine is the CKKS implementation of cryptofriendly.Engine. Client and cloud live in one process; everything
// that crosses between them is marshalled and counted. It is not safe for concurrent use.
type Engine struct {
	params  ckks.Parameters
	set     ParameterSet
	layout  Layout
	client  *client
	cloud   *cloud
	offline Costs
	online  Costs
}

var _ cryptofriendly.Engine = (*Engine)(nil)

// NewEngine builds the parameters, lets the client generate its secret key and the evaluation keys (the
// relinearisation key and the Galois keys of every rotation the engine uses) and sends the evaluation keys to
// the cloud; that is the offline phase (Offline).
func NewEngine(cfg Config) (*Engine, error) {
	lit, err := cfg.Parameters.Literal()
	if err != nil {
		return nil, err
	}
	params, err := ckks.NewParametersFromLiteral(lit)
	if err != nil {
		return nil, fmt.Errorf("ckks parameters %s: %w", cfg.Parameters, err)
	}
	if logQP := NominalLogQP(lit); cfg.Parameters.Secure() && logQP > MaxLogQP128(lit.LogN) {
		return nil, fmt.Errorf("ckks parameters %s: log QP %.0f exceeds the 128-bit bound %.0f for N = 2^%d", cfg.Parameters, logQP, MaxLogQP128(lit.LogN), lit.LogN)
	}
	if cfg.MaxRows < 1 {
		return nil, fmt.Errorf("ckks engine: MaxRows %d < 1", cfg.MaxRows)
	}
	stride := cfg.RowStride
	if stride == 0 {
		stride = max(2, 1<<bits.Len(uint(cfg.MaxRows-1)))
	}
	if stride < cfg.MaxRows {
		return nil, fmt.Errorf("ckks engine: row stride %d < MaxRows %d", stride, cfg.MaxRows)
	}
	layout, err := newLayout(params.MaxSlots(), stride)
	if err != nil {
		return nil, fmt.Errorf("ckks engine: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{params: params, set: cfg.Parameters, layout: layout}
	e.online.Calls = map[string]int64{}
	e.offline.Calls = map[string]int64{}

	start := time.Now()
	e.client = newClient(params, layout)
	rotations := keyRotations(layout)
	var (
		rlk     *rlwe.RelinearizationKey
		galois  []*rlwe.GaloisKey
		wire    time.Duration
		keySize int64
	)
	err = e.client.evaluationKeys(rotations, func(key interface{ MarshalBinary() ([]byte, error) }) error {
		t := time.Now()
		b, err := key.MarshalBinary()
		if err != nil {
			return fmt.Errorf("marshal: %w", err)
		}
		keySize += int64(len(b))
		switch key.(type) {
		case *rlwe.RelinearizationKey:
			rlk = new(rlwe.RelinearizationKey)
			err = rlk.UnmarshalBinary(b)
		default:
			gk := new(rlwe.GaloisKey)
			err = gk.UnmarshalBinary(b)
			galois = append(galois, gk)
		}
		wire += time.Since(t)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ckks engine: evaluation keys: %w", err)
	}
	total := time.Since(start)
	t := time.Now()
	e.cloud = newCloud(params, layout, rlk, galois, rotations)
	e.offline.CloudSeconds = time.Since(t).Seconds()
	e.offline.ClientSeconds = (total - wire).Seconds()
	e.offline.WireSeconds = wire.Seconds()
	e.offline.BytesToCloud = keySize
	e.offline.EvaluationKeys = int64(1 + len(galois))
	if !cfg.Parameters.Secure() {
		log.Warn("ckks engine on test-only parameters: NOT 128-bit secure", "parameters", string(cfg.Parameters))
	}
	log.Info("ckks engine ready", "parameters", string(cfg.Parameters), "logN", params.LogN(), "logQP", params.LogQP(),
		"levels", params.MaxLevel(), "row_stride", stride, "galois_keys", len(galois), "key_mb", float64(keySize)/(1<<20),
		"seconds", total.Seconds())
	return e, nil
}

// Name implements cryptofriendly.Engine.
func (e *Engine) Name() string { return Name }

// Layout returns the packing.
func (e *Engine) Layout() Layout { return e.layout }

// Parameters returns the lattigo parameters.
func (e *Engine) Parameters() ckks.Parameters { return e.params }

// Offline returns the costs of key generation and of sending the evaluation keys.
func (e *Engine) Offline() Costs { return e.offline.clone() }

// Online returns the costs since the engine was built or ResetOnline was called.
func (e *Engine) Online() Costs {
	c := e.online.clone()
	c.Primitives = e.cloud.counters
	return c
}

// ResetOnline zeroes the online costs (e.g. between the examples of a measurement).
func (e *Engine) ResetOnline() {
	e.online = Costs{Calls: map[string]int64{}}
	e.cloud.counters = Primitives{}
}

// Secure reports whether the engine runs a 128-bit-secure parameter set (false: test-only parameters).
func (e *Engine) Secure() bool { return e.set.Secure() }

func (c Costs) clone() Costs {
	out := c
	out.Calls = make(map[string]int64, len(c.Calls))
	for k, v := range c.Calls {
		out.Calls[k] = v
	}
	return out
}

// value unwraps a Value of this engine.
func (e *Engine) value(v cryptofriendly.Value) (*EncryptedMatrix, error) {
	m, ok := v.(*EncryptedMatrix)
	if !ok || m == nil {
		return nil, fmt.Errorf("value %T is not a ckks engine value", v)
	}
	return m, nil
}

// op runs one engine call: the cloud's time is its wall time less the client's and the wire's share.
func (e *Engine) op(name string, f func() (*EncryptedMatrix, error)) (cryptofriendly.Value, error) {
	start := time.Now()
	client0, wire0 := e.online.ClientSeconds, e.online.WireSeconds
	v, err := f()
	e.online.CloudSeconds += time.Since(start).Seconds() - (e.online.ClientSeconds - client0) - (e.online.WireSeconds - wire0)
	e.online.Calls[name]++
	if err != nil {
		return nil, fmt.Errorf("ckks %s: %w", name, err)
	}
	return v, nil
}

// toClient sends ciphertexts to the client and decrypts them there into slot vectors.
func (e *Engine) toClient(cts []*rlwe.Ciphertext) ([][]float64, error) {
	t := time.Now()
	got, n, err := transfer(cts)
	e.online.WireSeconds += time.Since(t).Seconds()
	if err != nil {
		return nil, err
	}
	e.online.BytesToClient += n
	e.online.CiphertextsToClient += int64(len(cts))
	t = time.Now()
	vs, err := e.client.decrypt(got)
	e.online.ClientSeconds += time.Since(t).Seconds()
	return vs, err
}

// toCloud encrypts a matrix at the client and sends it to the cloud.
func (e *Engine) toCloud(m cryptofriendly.Matrix) (*EncryptedMatrix, error) {
	t := time.Now()
	cts, err := e.client.encrypt(e.layout.pack(m))
	e.online.ClientSeconds += time.Since(t).Seconds()
	if err != nil {
		return nil, err
	}
	t = time.Now()
	got, n, err := transfer(cts)
	e.online.WireSeconds += time.Since(t).Seconds()
	if err != nil {
		return nil, err
	}
	e.online.BytesToCloud += n
	e.online.CiphertextsToCloud += int64(len(cts))
	return &EncryptedMatrix{rows: m.Rows, cols: m.Cols, cts: got, factor: 1, clean: true}, nil
}

// decryptAtClient returns a value's plaintext matrix at the client (after sending it there).
func (e *Engine) decryptAtClient(v *EncryptedMatrix) (cryptofriendly.Matrix, error) {
	vs, err := e.toClient(v.cts)
	if err != nil {
		return cryptofriendly.Matrix{}, err
	}
	t := time.Now()
	m := e.layout.unpack(vs, v.rows, v.cols, v.factor)
	e.online.ClientSeconds += time.Since(t).Seconds()
	return m, nil
}

// need is a depth requirement of one operand.
type need struct {
	v      *EncryptedMatrix
	levels int
}

// ensure refreshes, in one client round trip, every operand with fewer than levels + minLevel levels left.
func (e *Engine) ensure(needs ...need) error {
	var short []*EncryptedMatrix
	for _, n := range needs {
		if n.levels+minLevel > e.params.MaxLevel() {
			return fmt.Errorf("needs %d levels, the parameters have %d above level %d", n.levels, e.params.MaxLevel()-minLevel, minLevel)
		}
		if n.v.Level() < n.levels+minLevel && !slices.Contains(short, n.v) {
			short = append(short, n.v)
		}
	}
	if len(short) == 0 {
		return nil
	}
	for _, v := range short {
		m, err := e.decryptAtClient(v)
		if err != nil {
			return fmt.Errorf("refresh: %w", err)
		}
		fresh, err := e.toCloud(m)
		if err != nil {
			return fmt.Errorf("refresh: %w", err)
		}
		*v = *fresh
	}
	e.online.Refreshes++
	e.online.Rounds++
	return nil
}

// Input implements cryptofriendly.Engine: the client encrypts and uploads its matrix.
func (e *Engine) Input(m cryptofriendly.Matrix) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpInput, func() (*EncryptedMatrix, error) {
		if err := e.checkShape(m.Rows, m.Cols); err != nil {
			return nil, err
		}
		if len(m.Data) != m.Rows*m.Cols {
			return nil, fmt.Errorf("matrix %d×%d has %d elements", m.Rows, m.Cols, len(m.Data))
		}
		return e.toCloud(m)
	})
}

func (e *Engine) checkShape(rows, cols int) error {
	if rows < 1 || cols < 1 {
		return fmt.Errorf("empty %d×%d matrix", rows, cols)
	}
	if rows > e.layout.RowStride {
		return fmt.Errorf("%d rows exceed the row stride %d (Config.MaxRows)", rows, e.layout.RowStride)
	}
	return nil
}

// Reveal implements cryptofriendly.Engine: the cloud sends the ciphertexts, the client decrypts.
func (e *Engine) Reveal(v cryptofriendly.Value) (cryptofriendly.Matrix, error) {
	var out cryptofriendly.Matrix
	_, err := e.op(cryptofriendly.OpReveal, func() (*EncryptedMatrix, error) {
		x, err := e.value(v)
		if err != nil {
			return nil, err
		}
		out, err = e.decryptAtClient(x)
		return x, err
	})
	return out, err
}

// Linear implements cryptofriendly.Engine: x·W + b with W in plaintext, one level.
func (e *Engine) Linear(xv cryptofriendly.Value, w cryptofriendly.Matrix, b []float64) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpLinear, func() (*EncryptedMatrix, error) {
		x, err := e.value(xv)
		if err != nil {
			return nil, err
		}
		return e.linear(x, w, b)
	})
}

// linear is Linear without the accounting, for the operations built on it.
func (e *Engine) linear(x *EncryptedMatrix, w cryptofriendly.Matrix, b []float64) (*EncryptedMatrix, error) {
	if w.Rows != x.cols || len(w.Data) != w.Rows*w.Cols || w.Cols < 1 {
		return nil, fmt.Errorf("weights %d×%d (%d elements) for a %d×%d input", w.Rows, w.Cols, len(w.Data), x.rows, x.cols)
	}
	if b != nil && len(b) != w.Cols {
		return nil, fmt.Errorf("bias of %d for %d outputs", len(b), w.Cols)
	}
	if err := e.ensure(need{x, 1}); err != nil {
		return nil, err
	}
	l := e.layout
	nIn, nOut := len(x.cts), l.Ciphertexts(w.Cols)
	blocks := l.BlocksPerCiphertext
	ms := make([][]diagonals, nIn)
	for a := range nIn {
		ms[a] = make([]diagonals, nOut)
		for bo := range nOut {
			d := diagonals{}
			for ja := range blocks {
				j := a*blocks + ja
				if j >= w.Rows || (x.cols == 1 && ja > 0) {
					break
				}
				for kb := range blocks {
					k := bo*blocks + kb
					if k >= w.Cols {
						break // a one-column output goes to block 0 and is replicated below
					}
					wjk := w.Data[j*w.Cols+k] * x.factor
					if wjk == 0 {
						continue
					}
					t := mod(ja-kb, blocks)
					for i := range x.rows {
						d.set(t, kb*l.RowStride+i, l.Slots, wjk)
					}
				}
			}
			ms[a][bo] = d
		}
	}
	outs, err := e.cloud.linearMaps(x.cts, ms, e.cloud.linear)
	if err != nil {
		return nil, err
	}
	if b != nil {
		bias := cryptofriendly.NewMatrix(x.rows, w.Cols)
		for i := range x.rows {
			copy(bias.Data[i*w.Cols:(i+1)*w.Cols], b)
		}
		vs := l.pack(bias)
		if w.Cols == 1 {
			clear(vs[0][l.RowStride:]) // block 0 only, replicated below
		}
		for k, v := range vs {
			if err := e.cloud.eval.Add(outs[k], v, outs[k]); err != nil {
				return nil, fmt.Errorf("bias: %w", err)
			}
		}
	}
	if w.Cols == 1 {
		if err := e.cloud.replicate(outs[0]); err != nil {
			return nil, err
		}
	}
	return &EncryptedMatrix{rows: x.rows, cols: w.Cols, cts: outs, factor: 1, clean: true}, nil
}

// MatMul implements cryptofriendly.Engine: x·y of two encrypted matrices (two levels, three when a dimension
// exceeds half the row stride; see matMul).
func (e *Engine) MatMul(xv, yv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpMatMul, func() (*EncryptedMatrix, error) {
		x, y, err := e.values2(xv, yv)
		if err != nil {
			return nil, err
		}
		return e.matMul(x, y, false)
	})
}

// MatMulT implements cryptofriendly.Engine: x·yᵀ of two encrypted matrices (one level more than MatMul, for
// the transposition).
func (e *Engine) MatMulT(xv, yv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpMatMulT, func() (*EncryptedMatrix, error) {
		x, y, err := e.values2(xv, yv)
		if err != nil {
			return nil, err
		}
		return e.matMul(x, y, true)
	})
}

func (e *Engine) values2(xv, yv cryptofriendly.Value) (*EncryptedMatrix, *EncryptedMatrix, error) {
	x, err := e.value(xv)
	if err != nil {
		return nil, nil, err
	}
	y, err := e.value(yv)
	if err != nil {
		return nil, nil, err
	}
	return x, y, nil
}

func (e *Engine) sameShape(x, y *EncryptedMatrix) error {
	if x.rows != y.rows || x.cols != y.cols {
		return fmt.Errorf("shapes %d×%d and %d×%d differ", x.rows, x.cols, y.rows, y.cols)
	}
	return nil
}

// Add implements cryptofriendly.Engine.
func (e *Engine) Add(xv, yv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpAdd, func() (*EncryptedMatrix, error) {
		x, y, err := e.values2(xv, yv)
		if err != nil {
			return nil, err
		}
		if err := e.sameShape(x, y); err != nil {
			return nil, err
		}
		if x, y, err = e.matchFactors(x, y); err != nil {
			return nil, err
		}
		out := make([]*rlwe.Ciphertext, len(x.cts))
		for k := range out {
			if out[k], err = e.cloud.eval.AddNew(x.cts[k], y.cts[k]); err != nil {
				return nil, fmt.Errorf("add: %w", err)
			}
		}
		return &EncryptedMatrix{rows: x.rows, cols: x.cols, cts: out, factor: x.factor, clean: x.clean && y.clean}, nil
	})
}

// matchFactors returns x and y with equal factors: the operand with more levels left is multiplied by the
// ratio (one level) unless they already agree.
func (e *Engine) matchFactors(x, y *EncryptedMatrix) (*EncryptedMatrix, *EncryptedMatrix, error) {
	if x.factor == y.factor || math.Abs(x.factor-y.factor) <= 1e-13*math.Abs(x.factor) {
		return x, y, nil
	}
	swap := x.Level() > y.Level()
	if swap {
		x, y = y, x
	}
	adj, err := e.withFactor(y, x.factor)
	if err != nil {
		return nil, nil, err
	}
	if swap {
		return adj, x, nil
	}
	return x, adj, nil
}

// withFactor returns v re-expressed with the given factor (one level unless the ratio is an integer).
func (e *Engine) withFactor(v *EncryptedMatrix, factor float64) (*EncryptedMatrix, error) {
	if err := e.ensure(need{v, 1}); err != nil {
		return nil, err
	}
	out := *v
	out.cts = make([]*rlwe.Ciphertext, len(v.cts))
	var err error
	for k, ct := range v.cts {
		if out.cts[k], err = e.cloud.mulConst(ct, v.factor/factor); err != nil {
			return nil, err
		}
	}
	out.factor = factor
	return &out, nil
}

// AddPlain implements cryptofriendly.Engine (no level).
func (e *Engine) AddPlain(xv cryptofriendly.Value, p cryptofriendly.Matrix) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpAddPlain, func() (*EncryptedMatrix, error) {
		x, err := e.value(xv)
		if err != nil {
			return nil, err
		}
		if p.Rows != x.rows || p.Cols != x.cols || len(p.Data) != p.Rows*p.Cols {
			return nil, fmt.Errorf("plaintext %d×%d for a %d×%d value", p.Rows, p.Cols, x.rows, x.cols)
		}
		scaled := cryptofriendly.NewMatrix(p.Rows, p.Cols)
		for i, v := range p.Data {
			scaled.Data[i] = v / x.factor
		}
		out := make([]*rlwe.Ciphertext, len(x.cts))
		for k, v := range e.layout.pack(scaled) {
			if out[k], err = e.cloud.eval.AddNew(x.cts[k], v); err != nil {
				return nil, fmt.Errorf("add plaintext: %w", err)
			}
		}
		return &EncryptedMatrix{rows: x.rows, cols: x.cols, cts: out, factor: x.factor, clean: x.clean}, nil
	})
}

// Scale implements cryptofriendly.Engine: the public factor changes, the ciphertexts do not (no level).
func (e *Engine) Scale(xv cryptofriendly.Value, c float64) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpScale, func() (*EncryptedMatrix, error) {
		x, err := e.value(xv)
		if err != nil {
			return nil, err
		}
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, fmt.Errorf("scale by %v", c)
		}
		out := *x
		if c == 0 {
			out.cts = make([]*rlwe.Ciphertext, len(x.cts))
			for k, ct := range x.cts {
				if out.cts[k], err = e.cloud.mulConst(ct, 0); err != nil {
					return nil, err
				}
			}
			out.factor, out.clean = 1, true
			return &out, nil
		}
		out.factor *= c
		return &out, nil
	})
}

// MulElem implements cryptofriendly.Engine (one level).
func (e *Engine) MulElem(xv, yv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpMulElem, func() (*EncryptedMatrix, error) {
		x, y, err := e.values2(xv, yv)
		if err != nil {
			return nil, err
		}
		if err := e.sameShape(x, y); err != nil {
			return nil, err
		}
		return e.product(x, y, x.clean || y.clean)
	})
}

// product multiplies every ciphertext of x by the matching one of y, or by y's only one if it is a column.
func (e *Engine) product(x, y *EncryptedMatrix, clean bool) (*EncryptedMatrix, error) {
	if err := e.ensure(need{x, 1}, need{y, 1}); err != nil {
		return nil, err
	}
	out := make([]*rlwe.Ciphertext, len(x.cts))
	var err error
	for k, ct := range x.cts {
		other := y.cts[0]
		if len(y.cts) == len(x.cts) {
			other = y.cts[k]
		}
		if out[k], err = e.cloud.mulRelin(ct, other); err != nil {
			return nil, err
		}
	}
	f := e.cloud.normalize(out)
	return &EncryptedMatrix{rows: x.rows, cols: x.cols, cts: out, factor: x.factor * y.factor * f, clean: clean}, nil
}

// MulRows implements cryptofriendly.Engine: s is a column, replicated in every block, so this is one
// element-wise product per ciphertext of x (one level).
func (e *Engine) MulRows(xv, sv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpMulRows, func() (*EncryptedMatrix, error) {
		x, s, err := e.values2(xv, sv)
		if err != nil {
			return nil, err
		}
		if s.rows != x.rows || s.cols != 1 {
			return nil, fmt.Errorf("MulRows of %d×%d by %d×%d (want %d×1)", x.rows, x.cols, s.rows, s.cols, x.rows)
		}
		return e.product(x, s, x.clean)
	})
}

// RowSum implements cryptofriendly.Engine: x·1 as a linear map into block 0, then replicated into every block
// by log2(blocks) rotations (one level).
func (e *Engine) RowSum(xv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpRowSum, func() (*EncryptedMatrix, error) {
		x, err := e.value(xv)
		if err != nil {
			return nil, err
		}
		ones := cryptofriendly.NewMatrix(x.cols, 1)
		for i := range ones.Data {
			ones.Data[i] = 1
		}
		return e.linear(x, ones, nil)
	})
}

// Poly implements cryptofriendly.Engine with lattigo's polynomial evaluator (⌈log2(degree+1)⌉ levels; none
// for degree ≤ 1, which only changes the factor and adds a constant).
func (e *Engine) Poly(xv cryptofriendly.Value, coeffs []float64) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpPoly, func() (*EncryptedMatrix, error) {
		x, err := e.value(xv)
		if err != nil {
			return nil, err
		}
		if len(coeffs) == 0 {
			return nil, fmt.Errorf("no coefficients")
		}
		deg := cryptofriendly.Degree(coeffs)
		out := &EncryptedMatrix{rows: x.rows, cols: x.cols, cts: make([]*rlwe.Ciphertext, len(x.cts)), factor: 1, clean: x.clean && coeffs[0] == 0}
		switch {
		case deg == 0 || (deg == 1 && coeffs[1]*x.factor == 0):
			for k, ct := range x.cts {
				if out.cts[k], err = e.cloud.mulConst(ct, 0); err != nil {
					return nil, err
				}
				if err = e.cloud.eval.Add(out.cts[k], coeffs[0], out.cts[k]); err != nil {
					return nil, fmt.Errorf("constant: %w", err)
				}
			}
		case deg == 1:
			out.factor = x.factor * coeffs[1]
			for k, ct := range x.cts {
				if out.cts[k], err = e.cloud.eval.AddNew(ct, coeffs[0]/out.factor); err != nil {
					return nil, fmt.Errorf("constant: %w", err)
				}
			}
		default:
			if err := e.ensure(need{x, bits.Len(uint(deg))}); err != nil {
				return nil, err
			}
			scaled := make([]float64, deg+1)
			pow := 1.0
			for k := range scaled {
				scaled[k] = coeffs[k] * pow
				pow *= x.factor
			}
			p := bignum.NewPolynomial(bignum.Monomial, scaled, nil)
			for k, ct := range x.cts {
				if out.cts[k], err = e.cloud.poly.Evaluate(ct, p, e.params.DefaultScale()); err != nil {
					return nil, fmt.Errorf("polynomial of degree %d: %w", deg, err)
				}
			}
			e.cloud.counters.CipherMults += int64(len(x.cts) * (deg - 1))
			out.factor = e.cloud.normalize(out.cts)
		}
		return out, nil
	})
}

// Reciprocal implements cryptofriendly.Engine by a client round trip: exact 1/x.
func (e *Engine) Reciprocal(xv cryptofriendly.Value, lo, hi float64) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpReciprocal, func() (*EncryptedMatrix, error) {
		return e.atClient(xv, lo, hi, func(v float64) float64 { return 1 / v })
	})
}

// InvSqrt implements cryptofriendly.Engine by a client round trip: exact 1/√x.
func (e *Engine) InvSqrt(xv cryptofriendly.Value, lo, hi float64) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpInvSqrt, func() (*EncryptedMatrix, error) {
		return e.atClient(xv, lo, hi, func(v float64) float64 { return 1 / math.Sqrt(v) })
	})
}

// atClient sends x to the client, which applies f element-wise in the clear and sends back a fresh encryption.
// Inputs outside [lo, hi] are counted; where f is not finite there (x ≤ 0) the input is first clamped to
// [lo, hi], as an approximation valid on that interval would do.
func (e *Engine) atClient(xv cryptofriendly.Value, lo, hi float64, f func(float64) float64) (*EncryptedMatrix, error) {
	x, err := e.value(xv)
	if err != nil {
		return nil, err
	}
	if !(lo > 0 && hi >= lo) {
		return nil, fmt.Errorf("interval (%v, %v) is not positive", lo, hi)
	}
	m, err := e.decryptAtClient(x)
	if err != nil {
		return nil, err
	}
	t := time.Now()
	for i, v := range m.Data {
		if v < lo || v > hi {
			e.online.OutOfRange++
		}
		y := f(v)
		if math.IsNaN(y) || math.IsInf(y, 0) {
			y = f(min(max(v, lo), hi))
		}
		m.Data[i] = y
	}
	e.online.ClientSeconds += time.Since(t).Seconds()
	out, err := e.toCloud(m)
	if err != nil {
		return nil, err
	}
	e.online.ClientNonlinear++
	e.online.Rounds++
	return out, nil
}

// SliceCols implements cryptofriendly.Engine: columns [lo, hi) are brought to block 0 by a rotation (no level);
// a slice that straddles two ciphertexts is joined under masks, and a single column is replicated by a linear
// map (one level each).
func (e *Engine) SliceCols(xv cryptofriendly.Value, lo, hi int) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpSliceCols, func() (*EncryptedMatrix, error) {
		x, err := e.value(xv)
		if err != nil {
			return nil, err
		}
		if lo < 0 || hi > x.cols || lo >= hi {
			return nil, fmt.Errorf("columns [%d, %d) of a %d×%d value", lo, hi, x.rows, x.cols)
		}
		if lo == 0 && hi == x.cols {
			return x, nil
		}
		if hi-lo == 1 {
			sel := cryptofriendly.NewMatrix(x.cols, 1)
			sel.Data[lo] = 1
			return e.linear(x, sel, nil)
		}
		return e.sliceCols(x, lo, hi)
	})
}

func (e *Engine) sliceCols(x *EncryptedMatrix, lo, hi int) (*EncryptedMatrix, error) {
	l := e.layout
	blocks := l.BlocksPerCiphertext
	shift := lo % blocks
	width := hi - lo
	out := &EncryptedMatrix{rows: x.rows, cols: width, cts: make([]*rlwe.Ciphertext, l.Ciphertexts(width)), factor: x.factor}
	straddles := false
	for b := range out.cts {
		first := lo + b*blocks
		last := min(hi, first+blocks) - 1
		if shift != 0 && last/blocks != first/blocks {
			straddles = true
		}
	}
	if straddles {
		if err := e.ensure(need{x, 1}); err != nil {
			return nil, err
		}
	}
	for b := range out.cts {
		first := lo + b*blocks
		last := min(hi, first+blocks) - 1
		a := first / blocks
		if shift == 0 {
			out.cts[b] = x.cts[a]
			continue
		}
		low, err := e.cloud.rotate(x.cts[a], shift*l.RowStride)
		if err != nil {
			return nil, err
		}
		if last/blocks == a {
			out.cts[b] = low
			continue
		}
		high, err := e.cloud.rotate(x.cts[a+1], shift*l.RowStride)
		if err != nil {
			return nil, err
		}
		lowMask, highMask := make([]float64, l.Slots), make([]float64, l.Slots)
		for n := range l.Slots {
			if n/l.RowStride < blocks-shift {
				lowMask[n] = 1
			} else {
				highMask[n] = 1
			}
		}
		if low, err = e.cloud.mulMask(low, lowMask); err != nil {
			return nil, err
		}
		if high, err = e.cloud.mulMask(high, highMask); err != nil {
			return nil, err
		}
		if err = e.cloud.eval.Add(low, high, low); err != nil {
			return nil, fmt.Errorf("join: %w", err)
		}
		out.cts[b] = low
	}
	e.alignLevels(out)
	return out, nil
}

// alignLevels lowers every ciphertext of v to the lowest level among them.
func (e *Engine) alignLevels(v *EncryptedMatrix) {
	level := v.cts[0].Level()
	for _, ct := range v.cts {
		level = min(level, ct.Level())
	}
	for k, ct := range v.cts {
		v.cts[k] = e.cloud.dropTo(ct, level)
	}
}

// ConcatCols implements cryptofriendly.Engine: each part is rotated into its blocks and added; parts that are
// not zero outside their columns, are replicated columns, or carry another factor are masked first (one level).
func (e *Engine) ConcatCols(vs ...cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpConcatCols, func() (*EncryptedMatrix, error) {
		if len(vs) == 0 {
			return nil, fmt.Errorf("nothing to concatenate")
		}
		parts := make([]*EncryptedMatrix, len(vs))
		cols := 0
		for i, v := range vs {
			p, err := e.value(v)
			if err != nil {
				return nil, err
			}
			if i > 0 && p.rows != parts[0].rows {
				return nil, fmt.Errorf("part %d has %d rows, part 0 has %d", i, p.rows, parts[0].rows)
			}
			parts[i] = p
			cols += p.cols
		}
		if len(parts) == 1 {
			return parts[0], nil
		}
		return e.concat(parts, cols)
	})
}

func (e *Engine) concat(parts []*EncryptedMatrix, cols int) (*EncryptedMatrix, error) {
	l := e.layout
	blocks := l.BlocksPerCiphertext
	factor := parts[0].factor
	type segment struct {
		part, src          int // part index and its ciphertext
		srcBlock, dstBlock int // first block in the source and in the destination ciphertext
		dst, n             int // destination ciphertext and number of blocks
	}
	var segs []segment
	masked := map[int]bool{} // parts that need masks
	off := 0
	for p, part := range parts {
		for a := range part.cts {
			first, last := a*blocks, min(part.cols, (a+1)*blocks)
			for c := first; c < last; {
				dc := off + c
				n := min(last-c, blocks-dc%blocks)
				segs = append(segs, segment{part: p, src: a, srcBlock: c % blocks, dstBlock: dc % blocks, dst: dc / blocks, n: n})
				if n != last-first {
					masked[p] = true // the source ciphertext is split
				}
				c += n
			}
		}
		if !part.clean || part.cols == 1 || part.factor != factor {
			masked[p] = true
		}
		off += part.cols
	}
	var needs []need
	for p := range masked {
		needs = append(needs, need{parts[p], 1})
	}
	if err := e.ensure(needs...); err != nil {
		return nil, err
	}
	out := &EncryptedMatrix{rows: parts[0].rows, cols: cols, cts: make([]*rlwe.Ciphertext, l.Ciphertexts(cols)), factor: factor, clean: true}
	for _, s := range segs {
		part := parts[s.part]
		ct, err := e.cloud.rotate(part.cts[s.src], (s.srcBlock-s.dstBlock)*l.RowStride)
		if err != nil {
			return nil, err
		}
		if masked[s.part] {
			mask := make([]float64, l.Slots)
			for blk := s.dstBlock; blk < s.dstBlock+s.n; blk++ {
				for i := range part.rows {
					mask[blk*l.RowStride+i] = part.factor / factor
				}
			}
			if ct, err = e.cloud.mulMask(ct, mask); err != nil {
				return nil, err
			}
		}
		if out.cts[s.dst] == nil {
			out.cts[s.dst] = ct
		} else if err = e.cloud.eval.Add(out.cts[s.dst], ct, out.cts[s.dst]); err != nil {
			return nil, fmt.Errorf("concatenate: %w", err)
		}
	}
	e.alignLevels(out)
	return out, nil
}

// SliceRows implements cryptofriendly.Engine: rows move up within their blocks by a rotation (no level).
func (e *Engine) SliceRows(xv cryptofriendly.Value, lo, hi int) (cryptofriendly.Value, error) {
	return e.op(cryptofriendly.OpSliceRows, func() (*EncryptedMatrix, error) {
		x, err := e.value(xv)
		if err != nil {
			return nil, err
		}
		if lo < 0 || hi > x.rows || lo >= hi {
			return nil, fmt.Errorf("rows [%d, %d) of a %d×%d value", lo, hi, x.rows, x.cols)
		}
		if lo == 0 && hi == x.rows {
			return x, nil
		}
		out := &EncryptedMatrix{rows: hi - lo, cols: x.cols, cts: make([]*rlwe.Ciphertext, len(x.cts)), factor: x.factor}
		for k, ct := range x.cts {
			if lo == 0 {
				out.cts[k] = ct
			} else if out.cts[k], err = e.cloud.rotate(ct, lo); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}
