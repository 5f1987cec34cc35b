package main

import (
	"fmt"
	"math"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/baselines/accountant"
)

// newAccountantCmd is `cyphertalk accountant`: the Rényi-DP accountant of DP-SGD's Poisson-subsampled Gaussian
// mechanism (baselines/accountant). With --sigma it prints ε; with --epsilon it prints the calibrated σ.
func newAccountantCmd(g *globals) *cobra.Command {
	var q, sigma, epsilon, delta, epochs float64
	var steps int
	cmd := &cobra.Command{
		Use:   "accountant",
		Short: "DP-SGD privacy accounting: ε for (q, σ, steps, δ), or the σ that meets a target ε",
		Long: `accountant composes the Rényi DP of the Poisson-subsampled Gaussian mechanism over Opacus' default orders
and converts it to (ε, δ) with the improved conversion of Balle et al. 2020 (as Opacus' get_privacy_spent).

  cyphertalk accountant --q 0.04 --sigma 1.5 --steps 2250 --delta 1e-5     prints ε
  cyphertalk accountant --q 0.04 --epsilon 8 --epochs 90 --delta 1e-5     prints the smallest σ that meets ε

The answer is one line of key=value pairs; --epochs counts ⌊epochs/q⌋ steps.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("epochs") {
				var err error
				if steps, err = accountant.StepsForEpochs(epochs, q); err != nil {
					return fmt.Errorf("--epochs: %w", err)
				}
			}
			out := cmd.OutOrStdout()
			if cmd.Flags().Changed("epsilon") {
				calibrated, err := accountant.CalibrateSigma(epsilon, delta, q, steps)
				if err != nil {
					return err
				}
				// Print σ rounded up to 7 significant digits, so that the σ a user copies still meets the target,
				// and the ε that printed σ spends.
				printed := roundUpSignificant(calibrated, 7)
				got, err := accountant.Epsilon(q, printed, steps, delta)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "sigma=%s epsilon=%.8g target_epsilon=%g delta=%g order=%g q=%g steps=%d\n",
					strconv.FormatFloat(printed, 'g', 7, 64), got.Epsilon, epsilon, delta, got.Order, q, steps)
				return nil
			}
			got, err := accountant.Epsilon(q, sigma, steps, delta)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "epsilon=%.6f delta=%g order=%g q=%g sigma=%g steps=%d\n", got.Epsilon, delta, got.Order, q, sigma, steps)
			return nil
		},
	}
	f := cmd.Flags()
	f.Float64Var(&q, "q", 0, "sampling rate: the probability that a record is in a batch (batch size / data set size)")
	f.Float64Var(&sigma, "sigma", 0, "noise multiplier σ: noise standard deviation / clipping norm")
	f.Float64Var(&epsilon, "epsilon", 0, "target ε: print the smallest σ that meets it instead of ε")
	f.Float64Var(&delta, "delta", 0, "δ of the (ε, δ) guarantee, e.g. 1e-5 (below 1/data set size)")
	f.IntVar(&steps, "steps", 0, "number of noisy steps")
	f.Float64Var(&epochs, "epochs", 0, "number of epochs, instead of --steps: ⌊epochs/q⌋ steps")
	for _, name := range []string{"q", "delta"} {
		if err := cmd.MarkFlagRequired(name); err != nil {
			panic(err) // the flag is defined just above
		}
	}
	cmd.MarkFlagsMutuallyExclusive("sigma", "epsilon")
	cmd.MarkFlagsOneRequired("sigma", "epsilon")
	cmd.MarkFlagsMutuallyExclusive("steps", "epochs")
	cmd.MarkFlagsOneRequired("steps", "epochs")
	return cmd
}

// roundUpSignificant rounds a positive x up to the given number of significant decimal digits.
func roundUpSignificant(x float64, digits int) float64 {
	if !(x > 0) || math.IsInf(x, 1) {
		return x
	}
	scale := math.Pow(10, float64(digits-1)-math.Floor(math.Log10(x)))
	up := math.Ceil(x*scale) / scale
	if up < x { // the division may land a hair below x
		up = math.Nextafter(up, math.Inf(1))
	}
	return up
}
