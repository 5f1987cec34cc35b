package mpc

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Party ids: party 0 is the client (holds the input), party 1 the cloud (holds the weights).
const (
	clientID = 0
	cloudID  = 1
)

// task is one unit of work handed to a worker goroutine; done receives its outcome.
type task struct {
	fn   func() error
	done chan taskResult
}

type taskResult struct {
	err  error
	busy time.Duration // wall time of fn minus the time it blocked reading from a connection
}

// worker is a goroutine that runs tasks one at a time: a party or the dealer.
type worker struct {
	name   string
	tasks  chan task
	waited time.Duration // time blocked in reads, accumulated by the worker's own goroutine
}

func (w *worker) loop(quit <-chan struct{}) {
	for {
		select {
		case t := <-w.tasks:
			start, waited := time.Now(), w.waited
			err := t.fn()
			t.done <- taskResult{err: err, busy: time.Since(start) - (w.waited - waited)}
		case <-quit:
			return
		}
	}
}

// party is one of the two computing parties. Its fields are touched only by its own goroutine (through tasks);
// the engine reads them only between steps.
type party struct {
	worker
	id         int
	frac       uint
	trunc      Truncation
	peer       *link         // to the other party
	fromDealer *link         // from the dealer (receive end)
	common     *rand.ChaCha8 // PRG whose seed both parties hold (input sharing)
	withDealer *rand.ChaCha8 // PRG whose seed this party and the dealer hold (correlated randomness)
	private    *rand.ChaCha8 // this party's own randomness (seeds it generates)
	queue      []material    // correlated randomness received and not yet used, in request order
	// depth is the length of the longest chain of messages that this party's state depends on: a message
	// carries its sender's depth and lifts the receiver to at least depth+1. The protocol's round count is the
	// growth of the parties' largest depth, so an exchange where both send and then both wait is one round.
	depth uint32
}

func (p *party) recvPeer(n int) ([]uint64, error) {
	words, depth, waited, err := p.peer.recv(n)
	p.waited += waited
	if err != nil {
		return nil, err
	}
	p.depth = max(p.depth, depth+1)
	return words, nil
}

func (p *party) sendPeer(words []uint64) error { return p.peer.send(p.depth, words) }

// exchange sends out to the other party and receives inWords words from it, concurrently (both parties send
// first: one round). Sending from a second goroutine keeps two large simultaneous messages from filling both
// TCP buffers and blocking each other.
func (p *party) exchange(out []uint64, inWords int) ([]uint64, error) {
	depth := p.depth
	sent := make(chan error, 1)
	go func() { sent <- p.peer.send(depth, out) }()
	in, err := p.recvPeer(inWords)
	if serr := <-sent; serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	return in, nil
}

// open reveals a shared vector to both parties.
func (p *party) open(share []uint64) ([]uint64, error) {
	in, err := p.exchange(share, len(share))
	if err != nil {
		return nil, err
	}
	return ringAdd(share, in), nil
}

// receiveMaterial derives this party's correlated randomness for reqs (the cloud also reads the dealer's
// correcting words) and queues it.
func (p *party) receiveMaterial(reqs []request) error {
	var corr []uint64
	if p.id == cloudID {
		total := 0
		for _, rq := range reqs {
			total += rq.correctionWords()
		}
		if total > 0 {
			words, _, waited, err := p.fromDealer.recv(total)
			p.waited += waited
			if err != nil {
				return fmt.Errorf("from dealer: %w", err)
			}
			corr = words
		}
	}
	mats, err := expand(p.id, reqs, p.withDealer, corr)
	if err != nil {
		return err
	}
	p.queue = append(p.queue, mats...)
	return nil
}

// take pops the next material, which must be for want.
func (p *party) take(want request) (material, error) {
	if len(p.queue) == 0 {
		return material{}, fmt.Errorf("party %d: no correlated randomness for %v", p.id, want.kind)
	}
	mt := p.queue[0]
	if mt.req != want {
		return material{}, fmt.Errorf("party %d: next correlated randomness is %+v, protocol needs %+v", p.id, mt.req, want)
	}
	p.queue[0] = material{}
	p.queue = p.queue[1:]
	return mt, nil
}

// beaverProduct multiplies x (rows×cols) by y laid out as mode says, with a product triple: open E = x − a and
// F = y − b together (one round), then z = c + E⊙b + a⊙F (+ E⊙F for party 0). The result has twice the
// fractional bits; the caller truncates.
func (p *party) beaverProduct(x, y []uint64, rows, cols int, mode bMode) ([]uint64, error) {
	mt, err := p.take(request{kind: kindProduct, m: rows, n: cols, mode: mode})
	if err != nil {
		return nil, err
	}
	nA, nB := rows*cols, mode.len(rows, cols)
	out := make([]uint64, nA+nB)
	for i := range nA {
		out[i] = x[i] - mt.a[i]
	}
	for j := range nB {
		out[nA+j] = y[j] - mt.b[j]
	}
	in, err := p.exchange(out, nA+nB)
	if err != nil {
		return nil, err
	}
	opened := ringAdd(out, in)
	e, f := opened[:nA], opened[nA:]
	z := append([]uint64(nil), mt.c...)
	broadcastMulAdd(z, e, mt.b, rows, cols, mode)
	broadcastMulAdd(z, mt.a, f, rows, cols, mode)
	if p.id == clientID {
		broadcastMulAdd(z, e, f, rows, cols, mode)
	}
	return z, nil
}

// square returns x² with a square pair (a, a²): only E = x − a is opened.
func (p *party) square(x []uint64) ([]uint64, error) {
	mt, err := p.take(request{kind: kindSquare, m: 1, n: len(x)})
	if err != nil {
		return nil, err
	}
	e, err := p.open(ringSub(x, mt.a))
	if err != nil {
		return nil, err
	}
	z := make([]uint64, len(x))
	for i := range z {
		z[i] = mt.c[i] + 2*e[i]*mt.a[i]
		if p.id == clientID {
			z[i] += e[i] * e[i]
		}
	}
	return z, nil
}

// matrixProduct multiplies two private matrices X (m×k) and Y (k×n) with a matrix triple: open E = X − A and
// F = Y − B in one round, then Z = C + E·B + A·F (+ E·F for party 0).
func (p *party) matrixProduct(x, y []uint64, m, k, n int) ([]uint64, error) {
	mt, err := p.take(request{kind: kindMatrix, m: m, k: k, n: n})
	if err != nil {
		return nil, err
	}
	out := make([]uint64, m*k+k*n)
	copy(out, ringSub(x, mt.a))
	copy(out[m*k:], ringSub(y, mt.b))
	in, err := p.exchange(out, len(out))
	if err != nil {
		return nil, err
	}
	opened := ringAdd(out, in)
	e, f := opened[:m*k], opened[m*k:]
	z := append([]uint64(nil), mt.c...)
	if p.id == clientID {
		ringMatMulAdd(z, e, ringAdd(mt.b, f), m, k, n)
	} else {
		ringMatMulAdd(z, e, mt.b, m, k, n)
	}
	ringMatMulAdd(z, mt.a, f, m, k, n)
	return z, nil
}

// weightsProduct multiplies the shared x (m×k) by the cloud's private W (k×n, encoded; nil for the client).
// x·W = x₀·W + x₁·W; the cloud computes x₁·W alone, and x₀·W, a product of the client's share and the cloud's
// matrix, uses a weights triple (A with the client, B with the cloud, C = A·B shared): the client sends
// E = x₀ − A, the cloud sends F = W − B (one round), then z₀ = A·F + C₀ and z₁ = (E + x₁)·W + C₁.
func (p *party) weightsProduct(x, w []uint64, m, k, n int) ([]uint64, error) {
	mt, err := p.take(request{kind: kindWeights, m: m, k: k, n: n})
	if err != nil {
		return nil, err
	}
	if p.id == clientID {
		f, err := p.exchange(ringSub(x, mt.a), k*n)
		if err != nil {
			return nil, err
		}
		z := append([]uint64(nil), mt.c...)
		ringMatMulAdd(z, mt.a, f, m, k, n)
		return z, nil
	}
	e, err := p.exchange(ringSub(w, mt.b), m*k)
	if err != nil {
		return nil, err
	}
	z := append([]uint64(nil), mt.c...)
	ringMatMulAdd(z, ringAdd(e, x), w, m, k, n)
	return z, nil
}

// truncate divides a shared vector by 2^shift (drops shift fractional bits), by the engine's truncation mode.
func (p *party) truncate(z []uint64, shift uint) ([]uint64, error) {
	out := make([]uint64, len(z))
	if p.trunc == TruncLocal {
		// SecureML (Mohassel & Zhang 2017, Thm. 1): each party shifts its own share; the result is off by at most
		// one unit in the last place, except with probability 2^(ℓ+1−64) for |x| < 2^ℓ, when it is off by ~2^(64−shift).
		for i, v := range z {
			if p.id == clientID {
				out[i] = v >> shift
			} else {
				out[i] = -((-v) >> shift)
			}
		}
		return out, nil
	}
	// Dealer-assisted: with r uniform and shares of r's top bit and of (r mod 2^63) >> shift, open
	// c = x + 2^62 + r. For |x| < 2^62, y = x + 2^62 lies in [0, 2^63), so y = (c mod 2^63) − (r mod 2^63) +
	// 2^63·b with carry bit b = c₆₃ ⊕ r₆₃ (linear in the shared r₆₃ because c₆₃ is public). Shifting each term
	// gives y >> shift exactly or one unit above it; the opened c is uniform, so nothing leaks.
	n := len(z)
	mt, err := p.take(request{kind: kindTrunc, m: 1, n: n, shift: shift})
	if err != nil {
		return nil, err
	}
	masked := make([]uint64, n)
	for i, v := range z {
		masked[i] = v + mt.r[i]
		if p.id == clientID {
			masked[i] += 1 << 62
		}
	}
	c, err := p.open(masked)
	if err != nil {
		return nil, err
	}
	for i, cv := range c {
		cTop, cLow := cv>>63, cv&(1<<63-1)
		carry := mt.msb[i] - 2*cTop*mt.msb[i]
		if p.id == clientID {
			carry += cTop
		}
		out[i] = carry<<(63-shift) - mt.low[i]
		if p.id == clientID {
			out[i] += cLow>>shift - 1<<(62-shift)
		}
	}
	return out, nil
}
