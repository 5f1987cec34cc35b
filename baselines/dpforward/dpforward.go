// Package dpforward owns the dp-forward baseline (docs/design.md §5): DP-Forward (Du et al., "DP-Forward: Fine-tuning
// and Inference on Language Models with Differential Privacy in Forward Pass", CCS 2023) in its local-DP setting.
// The model is split after layer k (default 0, the embedding layer). The client runs the lower part on each of
// its sequences, clips the sequence's T×d output to Frobenius norm C, adds i.i.d. Gaussian noise whose standard
// deviation the analytic Gaussian mechanism (Balle & Wang 2018, baselines/accountant) gives for (ε, δ) at L2
// sensitivity 2C, and uploads the result; the cloud runs the rest. Fine-tuning and inference alike see only
// noisy uploads, so each upload is (ε, δ)-DP for its sequence.
//
// With table = "frozen" (the default) the client's part stays the public model's, and each training sequence is
// perturbed and uploaded once; the cloud fine-tunes its part on those uploads for every epoch (post-processing:
// the whole run is (ε, δ)-DP per sequence). With table = "trainable" the client's part (token table included) is
// fine-tuned too, by split learning: every step the client uploads fresh noisy outputs and receives the gradient
// at the cut, so a training sequence is released once per epoch and the run's ε is the composition of those
// releases (Rényi DP of the Gaussian mechanism, baselines/accountant).
//
// The attention mask (each sequence's length) and the training labels are uploaded in the clear, as the noise
// covers the representation only.
package dpforward

import (
	"fmt"
	"math"

	"github.com/cyphertalk/cyphertalk-go/baselines/accountant"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

func init() { method.Register(DPForward()) }

// Config is the dp-forward method's parameters.
type Config struct {
	// Epsilon and Delta are the (ε, δ) each upload of a sequence satisfies; Delta 0 means 1/n with n the number
	// of training examples.
	Epsilon float64 `param:"epsilon"`
	Delta   float64 `param:"delta"`
	// Clip is C, the Frobenius norm each sequence's T×d output is clipped to (L2 sensitivity 2C).
	Clip float64 `param:"clip"`
	// Layer is where the noise is added: 0 = the embedding layer output, k = the output of encoder layer k.
	Layer int `param:"layer"`
	// Table is "frozen" (the client's part, token table included, stays the public model's) or "trainable"
	// (the client's part is fine-tuned by split learning).
	Table string `param:"table"`
	// Attacks runs embedding-output inversion (attacks.NearestNeighbourOutputs) on every token the client
	// uploaded and adds the token recovery rates to the results; it needs Layer = 0.
	Attacks bool `param:"attacks"`
}

// DefaultConfig is ε = 8, δ = 1/n, C = 1, noise at the embedding output, frozen client part.
func DefaultConfig() Config { return Config{Epsilon: 8, Clip: 1, Table: "frozen"} }

// DecodeConfig reads the method's parameters over DefaultConfig and checks them.
func DecodeConfig(params map[string]any) (Config, error) {
	cfg := DefaultConfig()
	if err := method.DecodeParams(params, &cfg); err != nil {
		return cfg, fmt.Errorf("dp-forward: %w", err)
	}
	switch {
	case !(cfg.Epsilon > 0) || math.IsInf(cfg.Epsilon, 1):
		return cfg, fmt.Errorf("dp-forward: epsilon = %v, want a positive number", cfg.Epsilon)
	case !(cfg.Delta >= 0 && cfg.Delta < 1):
		return cfg, fmt.Errorf("dp-forward: delta = %v, want 0 ≤ δ < 1 (0 = 1/n)", cfg.Delta)
	case !(cfg.Clip > 0) || math.IsInf(cfg.Clip, 1):
		return cfg, fmt.Errorf("dp-forward: clip = %v, want a positive number", cfg.Clip)
	case cfg.Layer < 0:
		return cfg, fmt.Errorf("dp-forward: layer = %d, want ≥ 0 (0 = the embedding output)", cfg.Layer)
	case cfg.Table != "frozen" && cfg.Table != "trainable":
		return cfg, fmt.Errorf("dp-forward: table = %q, want frozen or trainable", cfg.Table)
	case cfg.Attacks && cfg.Layer != 0:
		return cfg, fmt.Errorf("dp-forward: attacks = true needs layer = 0 (inverting deeper layers' outputs is not implemented), got layer = %d", cfg.Layer)
	}
	return cfg, nil
}

// DPForward is the dp-forward method.
func DPForward() harness.Method[Config] {
	return harness.Method[Config]{MethodName: "dp-forward", Decode: DecodeConfig, Protocol: Protocol}
}

// NoiseStd is the standard deviation of the Gaussian noise that makes one upload of a sequence clipped to
// Frobenius norm clip (ε, δ)-DP: the analytic Gaussian mechanism at L2 sensitivity 2·clip (replacing one sequence
// by another moves the clipped output by at most 2C).
func NoiseStd(epsilon, delta, clip float64) (float64, error) {
	sigma, err := accountant.AnalyticGaussianSigma(epsilon, delta, 2*clip)
	if err != nil {
		return 0, fmt.Errorf("dp-forward: calibrating the noise: %w", err)
	}
	return sigma, nil
}

// ComposedEpsilon is the ε at δ of releases noisy uploads of one sequence, each with noise std sigma at
// sensitivity 2·clip: the analytic calibration's epsilon itself for one release, the Rényi-DP composition of the
// Gaussian mechanism (sampling rate 1) for more.
func ComposedEpsilon(epsilon, delta, clip, sigma float64, releases int) (float64, error) {
	if releases <= 1 {
		return epsilon, nil
	}
	g, err := accountant.Epsilon(1, sigma/(2*clip), releases, delta)
	if err != nil {
		return 0, fmt.Errorf("dp-forward: composing %d releases: %w", releases, err)
	}
	return g.Epsilon, nil
}
