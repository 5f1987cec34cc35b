// Package mpc owns the mpc-2pc baseline's cryptography (docs/design.md §5): a two-party computation engine that
// evaluates the crypto-friendly model (baselines/cryptofriendly.Engine) on additive secret shares over Z_2^64,
// with fixed-point numbers, Beaver triples from a dealer, and the two parties talking over real loopback TCP, so
// that bytes and rounds are counted on the wire. It also owns private training of a classifier head on shares
// (Head.TrainStep) and the network model that turns measured bytes and rounds into LAN and WAN estimates. There
// is no backward pass of the encoder on shares: the mpc-2pc method (mpc/mpcmethod) measures head steps and the
// encoder's forward pass and says so in its private-tuning record.
//
// Why by hand: the reference implementations (CrypTen, MP-SPDZ, MPCFormer) are Python/C++; no Go library does
// arithmetic secret sharing with a dealer and fixed-point truncation (lattigo is homomorphic encryption).
//
// Protocol choices, each counted on the wire:
//
//   - Party 0 is the client (holds the input), party 1 the cloud (holds the weights). A value x is held as
//     x = x₀ + x₁ mod 2^64, party p holding x_p; reals are fixed point with Config.FracBits fractional bits.
//   - Inputs are shared without traffic: both parties hold a PRG seed (agreed once at set-up, each contributing
//     half) and draw the same mask r; the owner keeps enc(x) − r, the other party r (CrypTen's PRZS pattern).
//   - Linear(x, W, b) with W the cloud's private plaintext: x·W = x₀·W + x₁·W; the cloud computes x₁·W alone, and
//     x₀·W with a "weights" triple (A with the client, B with the cloud, C = A·B shared): the client sends
//     x₀ − A (T·in words), the cloud sends W − B (in·out words), one round. W is never public and never shared.
//     (A deployment that reuses B for every input could send W − B once; this engine deals fresh material per
//     call, so its bytes are an upper bound.)
//   - Products of two private values use Beaver triples: element-wise, per-row (MulRows), one-times-many (the
//     powers of Poly), square pairs, and matrix triples (MatMul), each one round.
//   - Truncation after a product: by default dealer-assisted (TruncDealer): one more round opening x + r, exact
//     up to one unit in the last place for every |x| < 2^62 (no failure probability). TruncLocal is SecureML's
//     local truncation: no traffic, but it fails (an error of about 2^(64−f)) with probability 2^(ℓ+1−64) per
//     element for |x| < 2^ℓ — with f = 16 and values below 2^10 that is 2^-21 per element, i.e. a few failures per
//     transformer forward pass, which is why it is not the default.
//   - The dealer is a trusted third party (it must not collude with either party, as CrypTen's TTP): a
//     goroutine with its own TCP connection to each party. It deals each operation's correlated randomness
//     just before the operation runs; that time, its bytes and its messages are the offline phase, booked apart
//     from the online counters. The material depends only on shapes, so a deployment would deal it all ahead of
//     time; the totals are the same.
//   - Exp (for the softmax of training) is CrypTen's limit (1 + x/2^n)^(2^n); Head trains a classifier on shares
//     with it, the Newton reciprocal and the polynomial ops.
//   - Reciprocal and InvSqrt are Newton–Raphson from a linear initial guess valid on (lo, hi), chosen (and the
//     number of iterations derived) from the range so that it also holds in fixed point. Poly evaluates the
//     powers in a tree of depth ⌈log₂ degree⌉ and truncates the weighted sum once.
//
// The two parties run in one process as goroutines. A Shared value carries both share vectors side by side so
// that Go's garbage collector frees them; party p's goroutine is only ever handed slot p, and everything that
// passes between the parties goes through their TCP connection and is counted.
package mpc

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Truncation selects the truncation protocol.
type Truncation int

const (
	// TruncDealer is dealer-assisted truncation: one round, exact to one unit in the last place.
	TruncDealer Truncation = iota
	// TruncLocal is SecureML's local truncation: no traffic, probabilistic failure (see the package comment).
	TruncLocal
)

func (t Truncation) String() string {
	if t == TruncLocal {
		return "local"
	}
	return "dealer"
}

// DefaultFracBits is the default number of fractional bits (CrypTen's precision).
const DefaultFracBits = 16

// Config configures an engine.
type Config struct {
	// FracBits is the number of fractional bits f (0 → DefaultFracBits); 1..28 so that a product of two values
	// below 2^(31−f) stays below 2^62 before truncation.
	FracBits   uint
	Truncation Truncation
	// Seed, when set, derives every party's and the dealer's randomness from it (reproducible tests and
	// benchmarks); nil draws the seeds from crypto/rand.
	Seed *uint64
	// Logger receives set-up and shutdown messages (nil: slog.Default()).
	Logger *slog.Logger
}

// ErrClosed is returned by operations on an engine that was closed.
var ErrClosed = errors.New("mpc engine closed")

// Engine is a two-party computation session: the client and the cloud (each a goroutine with its own TCP
// connection to the other) and the dealer. It implements cryptofriendly.Engine. Its methods may be called from
// one goroutine at a time (they are serialised); the first network failure or context cancellation ends the
// session, and every later call returns that error. Close releases everything.
type Engine struct {
	cfg Config
	fp  fixedPoint
	log *slog.Logger

	mu      sync.Mutex // serialises operations and guards stats
	parties [2]*party
	dealer  *dealerWorker
	conns   []net.Conn
	quit    chan struct{}
	wg      sync.WaitGroup

	shutdownOnce sync.Once
	errMu        sync.Mutex
	err          error // why the session ended; nil while it is usable

	stats     Stats
	lastSent  [4]int64 // client→cloud, cloud→client, dealer→client, dealer→cloud bytes booked so far
	lastMsgs  [2]int64 // dealer→client, dealer→cloud messages booked so far
	lastDepth uint32   // largest party depth booked so far

	plans map[planKey]newtonPlan // Newton schedules by kind and range
}

// dealerWorker is the dealer's goroutine state.
type dealerWorker struct {
	worker
	toClient, toCloud *link
	rngClient         *rand.ChaCha8 // PRG shared with the client
	rngCloud          *rand.ChaCha8 // PRG shared with the cloud
	private           *rand.ChaCha8
}

// New starts a session: it opens the loopback connections, starts the two parties and the dealer, and runs the
// set-up (the dealer sends each party a PRG seed, the parties agree on the seed of their common PRG), booked to
// the offline counters. Cancelling ctx ends the session (operations in flight fail) and stops its goroutines;
// Close must still be called to wait for them.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.FracBits == 0 {
		cfg.FracBits = DefaultFracBits
	}
	if cfg.FracBits > 28 {
		return nil, fmt.Errorf("mpc: FracBits %d out of range 1..28", cfg.FracBits)
	}
	if cfg.Truncation != TruncDealer && cfg.Truncation != TruncLocal {
		return nil, fmt.Errorf("mpc: unknown truncation %d", cfg.Truncation)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	private, err := privateRNGs(cfg.Seed)
	if err != nil {
		return nil, err
	}
	// Connections: client–cloud, dealer–client, dealer–cloud.
	dialled, accepted, err := connectLoopback(ctx, 3)
	if err != nil {
		return nil, fmt.Errorf("mpc: %w", err)
	}
	e := &Engine{
		cfg:   cfg,
		fp:    fixedPoint{frac: cfg.FracBits},
		log:   logger,
		quit:  make(chan struct{}),
		stats: Stats{Ops: map[string]int64{}},
		plans: map[planKey]newtonPlan{},
	}
	e.conns = append(dialled, accepted...)
	for id := range 2 {
		e.parties[id] = &party{
			worker:  worker{name: partyName(id), tasks: make(chan task)},
			id:      id,
			frac:    cfg.FracBits,
			trunc:   cfg.Truncation,
			private: private[id],
		}
	}
	e.parties[clientID].peer = &link{conn: dialled[0]}
	e.parties[cloudID].peer = &link{conn: accepted[0]}
	e.dealer = &dealerWorker{
		worker:   worker{name: "dealer", tasks: make(chan task)},
		toClient: &link{conn: dialled[1]},
		toCloud:  &link{conn: dialled[2]},
		private:  private[2],
	}
	e.parties[clientID].fromDealer = &link{conn: accepted[1]}
	e.parties[cloudID].fromDealer = &link{conn: accepted[2]}

	for _, w := range []*worker{&e.parties[0].worker, &e.parties[1].worker, &e.dealer.worker} {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			w.loop(e.quit)
		}()
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		select {
		case <-ctx.Done():
			e.shutdown(fmt.Errorf("mpc: session cancelled: %w", context.Cause(ctx)))
		case <-e.quit:
		}
	}()
	if err := e.setup(); err != nil {
		e.Close()
		return nil, fmt.Errorf("mpc: set-up: %w", err)
	}
	logger.Debug("mpc session started", "frac_bits", cfg.FracBits, "truncation", cfg.Truncation.String(),
		"client", dialled[0].LocalAddr().String(), "cloud", accepted[0].LocalAddr().String())
	return e, nil
}

func partyName(id int) string {
	if id == clientID {
		return "client"
	}
	return "cloud"
}

// privateRNGs returns the client's, the cloud's and the dealer's own generators.
func privateRNGs(seed *uint64) ([3]*rand.ChaCha8, error) {
	var out [3]*rand.ChaCha8
	var master *rand.ChaCha8
	if seed != nil {
		var key [32]byte
		binary.LittleEndian.PutUint64(key[:], *seed)
		copy(key[8:], "cyphertalk mpc-2pc seeds")
		master = rand.NewChaCha8(key)
	}
	for i := range out {
		var key [32]byte
		if master != nil {
			for j := range 4 {
				binary.LittleEndian.PutUint64(key[8*j:], master.Uint64())
			}
		} else if _, err := crand.Read(key[:]); err != nil {
			return out, fmt.Errorf("mpc: seed from crypto/rand: %w", err)
		}
		out[i] = rand.NewChaCha8(key)
	}
	return out, nil
}

func seedWords(rng *rand.ChaCha8) []uint64 { return fill(rng, 4) }

func seedFromWords(w []uint64) *rand.ChaCha8 {
	var key [32]byte
	for j := range 4 {
		binary.LittleEndian.PutUint64(key[8*j:], w[j])
	}
	return rand.NewChaCha8(key)
}

// setup distributes the PRG seeds over the connections (counted as offline traffic): the dealer sends each
// party the seed of the PRG they share, and the two parties exchange halves of their common seed.
func (e *Engine) setup() error {
	d, c, s := e.dealer, e.parties[clientID], e.parties[cloudID]
	return e.step(true,
		job{&d.worker, func() error {
			toClient, toCloud := seedWords(d.private), seedWords(d.private)
			d.rngClient, d.rngCloud = seedFromWords(toClient), seedFromWords(toCloud)
			if err := d.toClient.send(0, toClient); err != nil {
				return err
			}
			return d.toCloud.send(0, toCloud)
		}},
		job{&c.worker, func() error {
			w, _, waited, err := c.fromDealer.recv(4)
			c.waited += waited
			if err != nil {
				return err
			}
			c.withDealer = seedFromWords(w)
			return c.agreeCommonSeed()
		}},
		job{&s.worker, func() error {
			w, _, waited, err := s.fromDealer.recv(4)
			s.waited += waited
			if err != nil {
				return err
			}
			s.withDealer = seedFromWords(w)
			return s.agreeCommonSeed()
		}},
	)
}

// agreeCommonSeed exchanges a random contribution with the other party; the common seed is their XOR, so
// neither party chooses it alone.
func (p *party) agreeCommonSeed() error {
	mine := seedWords(p.private)
	theirs, err := p.exchange(mine, len(mine))
	if err != nil {
		return err
	}
	for i := range mine {
		mine[i] ^= theirs[i]
	}
	p.common = seedFromWords(mine)
	return nil
}

// Close ends the session and waits for its goroutines. It is safe to call more than once.
func (e *Engine) Close() error {
	e.shutdown(ErrClosed)
	e.wg.Wait()
	return nil
}

// shutdown records why the session ended, stops the workers and closes the connections (unblocking any read).
func (e *Engine) shutdown(cause error) {
	e.shutdownOnce.Do(func() {
		e.errMu.Lock()
		e.err = cause
		e.errMu.Unlock()
		close(e.quit)
		for _, c := range e.conns {
			c.Close()
		}
		switch {
		case errors.Is(cause, ErrClosed):
		case errors.Is(cause, context.Canceled), errors.Is(cause, context.DeadlineExceeded):
			e.log.Debug("mpc session cancelled", "cause", cause)
		default:
			e.log.Warn("mpc session failed", "cause", cause)
		}
	})
}

// Err returns why the session ended, or nil while it is usable.
func (e *Engine) Err() error {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	return e.err
}

// job is one worker's part of a step.
type job struct {
	w  *worker
	fn func() error
}

// step runs the jobs concurrently, one per worker, waits for all of them and books the step's wall time, each
// worker's busy time, the bytes written on every connection and the rounds to the offline or online counters.
// A failing job ends the session (the others would wait forever for a message that will not come).
func (e *Engine) step(offline bool, jobs ...job) error {
	if err := e.Err(); err != nil {
		return err
	}
	start := time.Now()
	type started struct {
		w    *worker
		done chan taskResult
	}
	running := make([]started, 0, len(jobs))
	var firstErr error
	for _, j := range jobs {
		t := task{fn: j.fn, done: make(chan taskResult, 1)}
		select {
		case j.w.tasks <- t:
			running = append(running, started{j.w, t.done})
		case <-e.quit:
			firstErr = e.Err()
		}
	}
	busy := map[*worker]time.Duration{}
	for _, r := range running {
		res := <-r.done
		busy[r.w] += res.busy
		if res.err != nil {
			// The first failure ends the session; failures it causes (closed connections) are not the cause.
			e.shutdown(fmt.Errorf("%s: %w", r.w.name, res.err))
			firstErr = e.Err()
		}
	}
	c := &e.stats.Online
	if offline {
		c = &e.stats.Offline
	}
	c.WallSeconds += time.Since(start).Seconds()
	c.ClientSeconds += busy[&e.parties[clientID].worker].Seconds()
	c.CloudSeconds += busy[&e.parties[cloudID].worker].Seconds()
	c.DealerSeconds += busy[&e.dealer.worker].Seconds()
	sent := [4]int64{e.parties[clientID].peer.sent.Load(), e.parties[cloudID].peer.sent.Load(),
		e.dealer.toClient.sent.Load(), e.dealer.toCloud.sent.Load()}
	c.BytesToCloud += sent[0] - e.lastSent[0]
	c.BytesToClient += sent[1] - e.lastSent[1]
	c.DealerBytesToClient += sent[2] - e.lastSent[2]
	c.DealerBytesToCloud += sent[3] - e.lastSent[3]
	e.lastSent = sent
	msgs := [2]int64{e.dealer.toClient.messages.Load(), e.dealer.toCloud.messages.Load()}
	c.Rounds += max(msgs[0]-e.lastMsgs[0], msgs[1]-e.lastMsgs[1])
	e.lastMsgs = msgs
	if firstErr == nil {
		depth := max(e.parties[0].depth, e.parties[1].depth)
		c.Rounds += int64(depth - e.lastDepth)
		e.lastDepth = depth
	}
	return firstErr
}

// online runs fn on both parties concurrently as one online step.
func (e *Engine) online(fn func(p *party) error) error {
	c, s := e.parties[clientID], e.parties[cloudID]
	return e.step(false, job{&c.worker, func() error { return fn(c) }}, job{&s.worker, func() error { return fn(s) }})
}

// offline has the dealer deal reqs and both parties derive and queue their material: one offline step.
func (e *Engine) offline(reqs []request) error {
	if len(reqs) == 0 {
		return nil
	}
	d, c, s := e.dealer, e.parties[clientID], e.parties[cloudID]
	return e.step(true,
		job{&d.worker, func() error {
			corr, err := deal(reqs, d.rngClient, d.rngCloud)
			if err != nil {
				return err
			}
			if len(corr) == 0 {
				return nil
			}
			return d.toCloud.send(0, corr)
		}},
		job{&c.worker, func() error { return c.receiveMaterial(reqs) }},
		job{&s.worker, func() error { return s.receiveMaterial(reqs) }},
	)
}

// Stats returns a snapshot of the session's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats.clone()
}

// FracBits is the engine's number of fractional bits.
func (e *Engine) FracBits() uint { return e.cfg.FracBits }

// Truncation is the engine's truncation protocol.
func (e *Engine) Truncation() Truncation { return e.cfg.Truncation }

// Name is the method name of the baseline.
func (e *Engine) Name() string { return "mpc-2pc" }
