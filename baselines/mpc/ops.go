package mpc

import (
	"fmt"
	"math"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
)

// Shared is a private rows×cols matrix held as two additive shares over Z_2^64. share[p] belongs to party p and
// is only ever read or written by party p's goroutine.
type Shared struct {
	eng        *Engine
	rows, cols int
	share      [2][]uint64
}

// Shape returns the matrix shape.
func (s *Shared) Shape() (rows, cols int) { return s.rows, s.cols }

var _ cryptofriendly.Engine = (*Engine)(nil)

func (e *Engine) newShared(rows, cols int) *Shared { return &Shared{eng: e, rows: rows, cols: cols} }

// value checks that v is a value of this session.
func (e *Engine) value(v cryptofriendly.Value, what string) (*Shared, error) {
	s, ok := v.(*Shared)
	if !ok || s == nil {
		return nil, fmt.Errorf("%s: %T is not an mpc value", what, v)
	}
	if s.eng != e {
		return nil, fmt.Errorf("%s: value belongs to another mpc session", what)
	}
	return s, nil
}

// begin locks the engine for one public operation and counts it.
func (e *Engine) begin(op string) (unlock func(), err error) {
	e.mu.Lock()
	if err := e.Err(); err != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("mpc %s: %w", op, err)
	}
	e.stats.Ops[op]++
	return e.mu.Unlock, nil
}

// operate runs one public operation on values: lock and count it, check the values, run f on their shares, and
// wrap f's error with the operation's name.
func (e *Engine) operate(op string, f func(xs []*Shared) (*Shared, error), vals ...cryptofriendly.Value) (cryptofriendly.Value, error) {
	unlock, err := e.begin(op)
	if err != nil {
		return nil, err
	}
	defer unlock()
	xs := make([]*Shared, len(vals))
	for i, v := range vals {
		if xs[i], err = e.value(v, op); err != nil {
			return nil, err
		}
	}
	v, err := f(xs)
	return result(op, v, err)
}

// unary is operate on one value.
func (e *Engine) unary(op string, xv cryptofriendly.Value, f func(x *Shared) (*Shared, error)) (cryptofriendly.Value, error) {
	return e.operate(op, func(xs []*Shared) (*Shared, error) { return f(xs[0]) }, xv)
}

// binary is operate on two values.
func (e *Engine) binary(op string, xv, yv cryptofriendly.Value, f func(x, y *Shared) (*Shared, error)) (cryptofriendly.Value, error) {
	return e.operate(op, func(xs []*Shared) (*Shared, error) { return f(xs[0], xs[1]) }, xv, yv)
}

// result converts an internal result to the interface's, wrapping the error with the operation's name.
func result(op string, v *Shared, err error) (cryptofriendly.Value, error) {
	if err != nil {
		return nil, fmt.Errorf("mpc %s: %w", op, err)
	}
	return v, nil
}

func checkMatrix(m cryptofriendly.Matrix, what string) error {
	if m.Rows <= 0 || m.Cols <= 0 || len(m.Data) != m.Rows*m.Cols {
		return fmt.Errorf("%s: %d×%d matrix with %d elements", what, m.Rows, m.Cols, len(m.Data))
	}
	return nil
}

func sameShape(x, y *Shared, op string) error {
	if err := checkSameShape(x, y); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

func checkSameShape(x, y *Shared) error {
	if x.rows != y.rows || x.cols != y.cols {
		return fmt.Errorf("shapes %d×%d and %d×%d differ", x.rows, x.cols, y.rows, y.cols)
	}
	return nil
}

// truncRequests is the correlated randomness a truncation of n values by shift bits needs (none for TruncLocal).
func (e *Engine) truncRequests(n int, shift uint) []request {
	if e.cfg.Truncation == TruncLocal {
		return nil
	}
	return []request{{kind: kindTrunc, m: 1, n: n, shift: shift}}
}

// local runs a computation that needs no communication on both parties: out.share[p] = fn(p).
func (e *Engine) local(rows, cols int, fn func(p *party) []uint64) (*Shared, error) {
	out := e.newShared(rows, cols)
	err := e.online(func(p *party) error {
		out.share[p.id] = fn(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Input shares the client's private matrix (no traffic: see the package comment).
func (e *Engine) Input(m cryptofriendly.Matrix) (cryptofriendly.Value, error) {
	unlock, err := e.begin("Input")
	if err != nil {
		return nil, err
	}
	defer unlock()
	v, err := e.input(clientID, m)
	return result("Input", v, err)
}

// InputCloud shares a matrix the cloud holds privately (e.g. the initial weights of a head trained on shares).
func (e *Engine) InputCloud(m cryptofriendly.Matrix) (cryptofriendly.Value, error) {
	unlock, err := e.begin("InputCloud")
	if err != nil {
		return nil, err
	}
	defer unlock()
	v, err := e.input(cloudID, m)
	return result("InputCloud", v, err)
}

func (e *Engine) input(owner int, m cryptofriendly.Matrix) (*Shared, error) {
	if err := checkMatrix(m, "input"); err != nil {
		return nil, err
	}
	if err := e.fp.checkEncodable(m.Data); err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	return e.local(m.Rows, m.Cols, func(p *party) []uint64 {
		mask := fill(p.common, len(m.Data))
		if p.id != owner {
			return mask
		}
		enc, _ := e.fp.encodeAll(m.Data) // checked above
		return ringSub(enc, mask)
	})
}

// Reveal sends the cloud's share to the client, which returns the value in the clear (one round).
func (e *Engine) Reveal(v cryptofriendly.Value) (cryptofriendly.Matrix, error) {
	unlock, err := e.begin("Reveal")
	if err != nil {
		return cryptofriendly.Matrix{}, err
	}
	defer unlock()
	x, err := e.value(v, "Reveal")
	if err != nil {
		return cryptofriendly.Matrix{}, err
	}
	m, err := e.reveal(x)
	if err != nil {
		return cryptofriendly.Matrix{}, fmt.Errorf("mpc Reveal: %w", err)
	}
	return m, nil
}

func (e *Engine) reveal(x *Shared) (cryptofriendly.Matrix, error) {
	out := cryptofriendly.NewMatrix(x.rows, x.cols)
	err := e.online(func(p *party) error {
		if p.id == cloudID {
			return p.sendPeer(x.share[cloudID])
		}
		other, err := p.recvPeer(len(out.Data))
		if err != nil {
			return err
		}
		for i, v := range x.share[clientID] {
			out.Data[i] = e.fp.decode(v + other[i])
		}
		return nil
	})
	if err != nil {
		return cryptofriendly.Matrix{}, err
	}
	return out, nil
}

// Linear is x·W + b with W (in×out) and b the cloud's private plaintext: a weights triple (one round) and a
// truncation.
func (e *Engine) Linear(xv cryptofriendly.Value, w cryptofriendly.Matrix, b []float64) (cryptofriendly.Value, error) {
	return e.unary("Linear", xv, func(x *Shared) (*Shared, error) { return e.linear(x, w, b) })
}

func (e *Engine) linear(x *Shared, w cryptofriendly.Matrix, b []float64) (*Shared, error) {
	if err := checkMatrix(w, "weights"); err != nil {
		return nil, err
	}
	if x.cols != w.Rows {
		return nil, fmt.Errorf("x is %d×%d, W is %d×%d", x.rows, x.cols, w.Rows, w.Cols)
	}
	if b != nil && len(b) != w.Cols {
		return nil, fmt.Errorf("bias has %d elements, W has %d columns", len(b), w.Cols)
	}
	if err := e.fp.checkEncodable(w.Data); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if err := e.fp.checkEncodable(b); err != nil {
		return nil, fmt.Errorf("bias: %w", err)
	}
	m, k, n := x.rows, w.Rows, w.Cols
	reqs := append([]request{{kind: kindWeights, m: m, k: k, n: n}}, e.truncRequests(m*n, e.cfg.FracBits)...)
	if err := e.offline(reqs); err != nil {
		return nil, err
	}
	out := e.newShared(m, n)
	err := e.online(func(p *party) error {
		var wEnc []uint64
		if p.id == cloudID {
			wEnc, _ = e.fp.encodeAll(w.Data) // checked above
		}
		z, err := p.weightsProduct(x.share[p.id], wEnc, m, k, n)
		if err != nil {
			return err
		}
		if z, err = p.truncate(z, e.cfg.FracBits); err != nil {
			return err
		}
		if p.id == cloudID && b != nil {
			bEnc, _ := e.fp.encodeAll(b)
			for i := range m {
				for j := range n {
					z[i*n+j] += bEnc[j]
				}
			}
		}
		out.share[p.id] = z
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MatMul is x·y for two private matrices: a matrix triple (one round) and a truncation.
func (e *Engine) MatMul(xv, yv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.matMulOp("MatMul", xv, yv, false)
}

// MatMulT is x·yᵀ for two private matrices (yᵀ is a local transpose of each share).
func (e *Engine) MatMulT(xv, yv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.matMulOp("MatMulT", xv, yv, true)
}

func (e *Engine) matMulOp(op string, xv, yv cryptofriendly.Value, transposeY bool) (cryptofriendly.Value, error) {
	return e.binary(op, xv, yv, func(x, y *Shared) (*Shared, error) { return e.matMul(x, y, transposeY) })
}

func (e *Engine) matMul(x, y *Shared, transposeY bool) (*Shared, error) {
	k, n := y.rows, y.cols
	if transposeY {
		k, n = y.cols, y.rows
	}
	if x.cols != k {
		return nil, fmt.Errorf("x is %d×%d, y is %d×%d (transposed: %v)", x.rows, x.cols, y.rows, y.cols, transposeY)
	}
	m := x.rows
	reqs := append([]request{{kind: kindMatrix, m: m, k: k, n: n}}, e.truncRequests(m*n, e.cfg.FracBits)...)
	if err := e.offline(reqs); err != nil {
		return nil, err
	}
	out := e.newShared(m, n)
	err := e.online(func(p *party) error {
		ys := y.share[p.id]
		if transposeY {
			ys = ringTranspose(ys, y.rows, y.cols)
		}
		z, err := p.matrixProduct(x.share[p.id], ys, m, k, n)
		if err != nil {
			return err
		}
		out.share[p.id], err = p.truncate(z, e.cfg.FracBits)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Add is x + y (local).
func (e *Engine) Add(xv, yv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.binaryLocal("Add", xv, yv, ringAdd)
}

// Sub is x − y (local).
func (e *Engine) Sub(xv, yv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.binaryLocal("Sub", xv, yv, ringSub)
}

func (e *Engine) binaryLocal(op string, xv, yv cryptofriendly.Value, f func(a, b []uint64) []uint64) (cryptofriendly.Value, error) {
	return e.binary(op, xv, yv, func(x, y *Shared) (*Shared, error) {
		if err := checkSameShape(x, y); err != nil {
			return nil, err
		}
		return e.local(x.rows, x.cols, func(p *party) []uint64 { return f(x.share[p.id], y.share[p.id]) })
	})
}

func (e *Engine) add(x, y *Shared) (*Shared, error) {
	if err := sameShape(x, y, "add"); err != nil {
		return nil, err
	}
	return e.local(x.rows, x.cols, func(p *party) []uint64 { return ringAdd(x.share[p.id], y.share[p.id]) })
}

func (e *Engine) sub(x, y *Shared) (*Shared, error) {
	if err := sameShape(x, y, "sub"); err != nil {
		return nil, err
	}
	return e.local(x.rows, x.cols, func(p *party) []uint64 { return ringSub(x.share[p.id], y.share[p.id]) })
}

// AddPlain adds a plaintext matrix of the model's (the cloud adds it to its share; local).
func (e *Engine) AddPlain(xv cryptofriendly.Value, pm cryptofriendly.Matrix) (cryptofriendly.Value, error) {
	unlock, err := e.begin("AddPlain")
	if err != nil {
		return nil, err
	}
	defer unlock()
	x, err := e.value(xv, "AddPlain")
	if err != nil {
		return nil, err
	}
	if err := checkMatrix(pm, "AddPlain"); err != nil {
		return nil, err
	}
	if pm.Rows != x.rows || pm.Cols != x.cols {
		return nil, fmt.Errorf("mpc AddPlain: value is %d×%d, plaintext %d×%d", x.rows, x.cols, pm.Rows, pm.Cols)
	}
	if err := e.fp.checkEncodable(pm.Data); err != nil {
		return nil, fmt.Errorf("mpc AddPlain: %w", err)
	}
	v, err := e.local(x.rows, x.cols, func(p *party) []uint64 {
		if p.id != cloudID {
			return x.share[p.id]
		}
		enc, _ := e.fp.encodeAll(pm.Data)
		return ringAdd(x.share[p.id], enc)
	})
	return result("AddPlain", v, err)
}

// addConst adds the public constant c to every element (party 0 adds it to its share).
func (e *Engine) addConst(x *Shared, c float64) (*Shared, error) {
	enc, err := e.fp.encode(c)
	if err != nil {
		return nil, err
	}
	return e.local(x.rows, x.cols, func(p *party) []uint64 {
		out := append([]uint64(nil), x.share[p.id]...)
		if p.id == clientID {
			for i := range out {
				out[i] += enc
			}
		}
		return out
	})
}

// constMinus is c − x for a public constant c (local).
func (e *Engine) constMinus(c float64, x *Shared) (*Shared, error) {
	enc, err := e.fp.encode(c)
	if err != nil {
		return nil, err
	}
	return e.local(x.rows, x.cols, func(p *party) []uint64 {
		out := make([]uint64, len(x.share[p.id]))
		for i, v := range x.share[p.id] {
			out[i] = -v
			if p.id == clientID {
				out[i] += enc
			}
		}
		return out
	})
}

// Scale multiplies by a public constant: local for an integer, a truncation by n bits for ±2^-n, otherwise a
// local product by the encoded constant and a truncation.
func (e *Engine) Scale(xv cryptofriendly.Value, c float64) (cryptofriendly.Value, error) {
	return e.unary("Scale", xv, func(x *Shared) (*Shared, error) { return e.scale(x, c) })
}

func (e *Engine) scale(x *Shared, c float64) (*Shared, error) {
	if math.IsNaN(c) || math.IsInf(c, 0) {
		return nil, fmt.Errorf("scale by %g", c)
	}
	if c == math.Trunc(c) && math.Abs(c) <= 1<<20 {
		k := uint64(int64(c))
		return e.local(x.rows, x.cols, func(p *party) []uint64 {
			out := make([]uint64, len(x.share[p.id]))
			for i, v := range x.share[p.id] {
				out[i] = v * k
			}
			return out
		})
	}
	if frac, exp := math.Frexp(math.Abs(c)); frac == 0.5 && exp <= 0 && 1-exp < 62 {
		// c = ±2^-n with n = 1 − exp: a truncation by n bits, exact to one unit.
		n := uint(1 - exp)
		out, err := e.truncateBy(x, n)
		if err != nil || c > 0 {
			return out, err
		}
		return e.scale(out, -1)
	}
	return e.mulPublic(x, c, e.cfg.FracBits)
}

// scaleBounded multiplies by c when |x| ≤ maxAbs is known: the constant is encoded with as many fractional bits
// as the 2^62 headroom allows, so a small c (the slope of a Newton initial guess) keeps its precision.
func (e *Engine) scaleBounded(x *Shared, c, maxAbs float64) (*Shared, error) {
	f := int(e.cfg.FracBits)
	bits := 62 - f - 2 - int(math.Ceil(math.Log2(math.Abs(c)*maxAbs+math.SmallestNonzeroFloat64)))
	bits = max(f, min(bits, 60-f))
	return e.mulPublic(x, c, uint(bits))
}

// mulPublic multiplies each share by round(c·2^bits) and truncates by bits.
func (e *Engine) mulPublic(x *Shared, c float64, bits uint) (*Shared, error) {
	k, err := encodeScaled(c, bits)
	if err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	n := x.rows * x.cols
	if err := e.offline(e.truncRequests(n, bits)); err != nil {
		return nil, err
	}
	out := e.newShared(x.rows, x.cols)
	err = e.online(func(p *party) error {
		z := make([]uint64, n)
		for i, v := range x.share[p.id] {
			z[i] = v * k
		}
		var err error
		out.share[p.id], err = p.truncate(z, bits)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// truncateBy divides by 2^n (one truncation).
func (e *Engine) truncateBy(x *Shared, n uint) (*Shared, error) {
	if err := e.offline(e.truncRequests(x.rows*x.cols, n)); err != nil {
		return nil, err
	}
	out := e.newShared(x.rows, x.cols)
	err := e.online(func(p *party) error {
		var err error
		out.share[p.id], err = p.truncate(x.share[p.id], n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MulElem is the element-wise product of two private values (a product triple and a truncation).
func (e *Engine) MulElem(xv, yv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.binary("MulElem", xv, yv, func(x, y *Shared) (*Shared, error) {
		if err := checkSameShape(x, y); err != nil {
			return nil, err
		}
		return e.product(x, y, bFull)
	})
}

// MulRows multiplies row i of x by s[i,0] (s private, rows×1): a per-row product triple opens x − a and s − b.
func (e *Engine) MulRows(xv, sv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.binary("MulRows", xv, sv, func(x, s *Shared) (*Shared, error) {
		if s.rows != x.rows || s.cols != 1 {
			return nil, fmt.Errorf("x is %d×%d, s is %d×%d (want %d×1)", x.rows, x.cols, s.rows, s.cols, x.rows)
		}
		return e.product(x, s, bPerRow)
	})
}

// product is x ⊙ bcast(y) followed by a truncation.
func (e *Engine) product(x, y *Shared, mode bMode) (*Shared, error) {
	return e.productShift(x, y, mode, e.cfg.FracBits)
}

// productShift is x ⊙ bcast(y) truncated by shift bits (f + k also divides by 2^k at no extra cost).
func (e *Engine) productShift(x, y *Shared, mode bMode, shift uint) (*Shared, error) {
	m, n := x.rows, x.cols
	reqs := append([]request{{kind: kindProduct, m: m, n: n, mode: mode}}, e.truncRequests(m*n, shift)...)
	if err := e.offline(reqs); err != nil {
		return nil, err
	}
	out := e.newShared(m, n)
	err := e.online(func(p *party) error {
		z, err := p.beaverProduct(x.share[p.id], y.share[p.id], m, n, mode)
		if err != nil {
			return err
		}
		out.share[p.id], err = p.truncate(z, shift)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mulMany multiplies each of xs (all h's shape) by h, with one opening of h: the powers of Poly.
func (e *Engine) mulMany(xs []*Shared, h *Shared) ([]*Shared, error) {
	k, n := len(xs), h.rows*h.cols
	reqs := append([]request{{kind: kindProduct, m: k, n: n, mode: bPerCol}}, e.truncRequests(k*n, e.cfg.FracBits)...)
	if err := e.offline(reqs); err != nil {
		return nil, err
	}
	outs := make([]*Shared, k)
	for i := range outs {
		outs[i] = e.newShared(h.rows, h.cols)
	}
	err := e.online(func(p *party) error {
		stacked := make([]uint64, 0, k*n)
		for _, x := range xs {
			stacked = append(stacked, x.share[p.id]...)
		}
		z, err := p.beaverProduct(stacked, h.share[p.id], k, n, bPerCol)
		if err != nil {
			return err
		}
		if z, err = p.truncate(z, e.cfg.FracBits); err != nil {
			return err
		}
		for i := range outs {
			outs[i].share[p.id] = z[i*n : (i+1)*n : (i+1)*n]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// square is x ⊙ x with a square pair (opens one value per element) and a truncation.
func (e *Engine) square(x *Shared) (*Shared, error) {
	n := x.rows * x.cols
	reqs := append([]request{{kind: kindSquare, m: 1, n: n}}, e.truncRequests(n, e.cfg.FracBits)...)
	if err := e.offline(reqs); err != nil {
		return nil, err
	}
	out := e.newShared(x.rows, x.cols)
	err := e.online(func(p *party) error {
		z, err := p.square(x.share[p.id])
		if err != nil {
			return err
		}
		out.share[p.id], err = p.truncate(z, e.cfg.FracBits)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RowSum is the rows×1 sum of each row (local).
func (e *Engine) RowSum(xv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.unary("RowSum", xv, e.rowSum)
}

func (e *Engine) rowSum(x *Shared) (*Shared, error) {
	return e.local(x.rows, 1, func(p *party) []uint64 {
		out := make([]uint64, x.rows)
		for i := range x.rows {
			for _, v := range x.share[p.id][i*x.cols : (i+1)*x.cols] {
				out[i] += v
			}
		}
		return out
	})
}

// ColSum is the 1×cols sum of each column (local).
func (e *Engine) ColSum(xv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.unary("ColSum", xv, e.colSum)
}

func (e *Engine) colSum(x *Shared) (*Shared, error) {
	return e.local(1, x.cols, func(p *party) []uint64 {
		out := make([]uint64, x.cols)
		for i := range x.rows {
			for j, v := range x.share[p.id][i*x.cols : (i+1)*x.cols] {
				out[j] += v
			}
		}
		return out
	})
}

// Transpose is xᵀ (local).
func (e *Engine) Transpose(xv cryptofriendly.Value) (cryptofriendly.Value, error) {
	return e.unary("Transpose", xv, e.transpose)
}

func (e *Engine) transpose(x *Shared) (*Shared, error) {
	return e.local(x.cols, x.rows, func(p *party) []uint64 { return ringTranspose(x.share[p.id], x.rows, x.cols) })
}

// addBroadcast adds sign·v to x, with v either 1×cols (added to every row) or rows×1 (added to every column).
func (e *Engine) addBroadcast(x, v *Shared, sign int) (*Shared, error) {
	perRow := v.rows == x.rows && v.cols == 1
	if !perRow && (v.rows != 1 || v.cols != x.cols) {
		return nil, fmt.Errorf("broadcast: %d×%d onto %d×%d", v.rows, v.cols, x.rows, x.cols)
	}
	s := uint64(int64(sign))
	return e.local(x.rows, x.cols, func(p *party) []uint64 {
		out := append([]uint64(nil), x.share[p.id]...)
		for i := range x.rows {
			for j := range x.cols {
				if perRow {
					out[i*x.cols+j] += s * v.share[p.id][i]
				} else {
					out[i*x.cols+j] += s * v.share[p.id][j]
				}
			}
		}
		return out
	})
}

// SliceCols returns columns [lo, hi) (local).
func (e *Engine) SliceCols(xv cryptofriendly.Value, lo, hi int) (cryptofriendly.Value, error) {
	return e.unary("SliceCols", xv, func(x *Shared) (*Shared, error) {
		if lo < 0 || hi > x.cols || lo >= hi {
			return nil, fmt.Errorf("[%d, %d) of %d columns", lo, hi, x.cols)
		}
		w := hi - lo
		return e.local(x.rows, w, func(p *party) []uint64 {
			out := make([]uint64, 0, x.rows*w)
			for i := range x.rows {
				out = append(out, x.share[p.id][i*x.cols+lo:i*x.cols+hi]...)
			}
			return out
		})
	})
}

// ConcatCols joins values with equal rows side by side (local).
func (e *Engine) ConcatCols(vs ...cryptofriendly.Value) (cryptofriendly.Value, error) {
	unlock, err := e.begin("ConcatCols")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if len(vs) == 0 {
		return nil, fmt.Errorf("mpc ConcatCols: no values")
	}
	xs := make([]*Shared, len(vs))
	cols := 0
	for i, v := range vs {
		if xs[i], err = e.value(v, "ConcatCols"); err != nil {
			return nil, err
		}
		if xs[i].rows != xs[0].rows {
			return nil, fmt.Errorf("mpc ConcatCols: value %d has %d rows, value 0 has %d", i, xs[i].rows, xs[0].rows)
		}
		cols += xs[i].cols
	}
	rows := xs[0].rows
	v, err := e.local(rows, cols, func(p *party) []uint64 {
		out := make([]uint64, 0, rows*cols)
		for i := range rows {
			for _, x := range xs {
				out = append(out, x.share[p.id][i*x.cols:(i+1)*x.cols]...)
			}
		}
		return out
	})
	return result("ConcatCols", v, err)
}

// SliceRows returns rows [lo, hi) (local).
func (e *Engine) SliceRows(xv cryptofriendly.Value, lo, hi int) (cryptofriendly.Value, error) {
	return e.unary("SliceRows", xv, func(x *Shared) (*Shared, error) {
		if lo < 0 || hi > x.rows || lo >= hi {
			return nil, fmt.Errorf("[%d, %d) of %d rows", lo, hi, x.rows)
		}
		return e.local(hi-lo, x.cols, func(p *party) []uint64 {
			return append([]uint64(nil), x.share[p.id][lo*x.cols:hi*x.cols]...)
		})
	})
}
