package bow

import (
	stdctx "context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
)

// L-BFGS settings: the number of correction pairs kept, the Armijo constant of the backtracking line search, and
// the stopping tests (gradient ∞-norm, and a relative decrease of the objective below funcTol over
// stallIterations iterations in a row).
const (
	lbfgsMemory     = 10
	armijo          = 1e-4
	gradTol         = 1e-6
	funcTol         = 1e-9
	stallIterations = 3
	maxHalvings     = 60
)

// lbfgs minimises the smooth function fg (which returns f(x) and writes ∇f(x) into grad) from x, in place, with
// limited-memory BFGS and a backtracking (Armijo) line search. The objectives here are convex, so every step has
// s·y ≥ 0; pairs without positive curvature are skipped all the same. It returns the objective at each iteration.
func lbfgs(ctx stdctx.Context, fg func(x, grad []float64) float64, x []float64, maxIter int) (fitStats, error) {
	n := len(x)
	var st fitStats
	g := make([]float64, n)
	f := fg(x, g)
	st.Evaluations++
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return st, fmt.Errorf("the objective at the starting point is %v", f)
	}
	var sHist, yHist [][]float64
	var rho []float64
	d, xNew, gNew := make([]float64, n), make([]float64, n), make([]float64, n)
	alpha := make([]float64, lbfgsMemory)
	stalled := 0
	st.Status = fmt.Sprintf("iteration limit (%d)", maxIter)
	for st.Iterations < maxIter {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if floats.Norm(g, math.Inf(1)) < gradTol {
			st.Status = "converged (gradient)"
			break
		}
		// Two-loop recursion: d = −H·g.
		copy(d, g)
		for i := len(sHist) - 1; i >= 0; i-- {
			alpha[i] = rho[i] * floats.Dot(sHist[i], d)
			floats.AddScaled(d, -alpha[i], yHist[i])
		}
		if k := len(sHist) - 1; k >= 0 {
			floats.Scale(floats.Dot(sHist[k], yHist[k])/floats.Dot(yHist[k], yHist[k]), d)
		}
		for i := range sHist {
			beta := rho[i] * floats.Dot(yHist[i], d)
			floats.AddScaled(d, alpha[i]-beta, sHist[i])
		}
		floats.Scale(-1, d)
		slope := floats.Dot(g, d)
		if !(slope < 0) {
			// Not a descent direction (lost curvature): restart from steepest descent.
			sHist, yHist, rho = nil, nil, nil
			copy(d, g)
			floats.Scale(-1, d)
			slope = floats.Dot(g, d)
		}
		step := 1.0
		if len(sHist) == 0 {
			step = 1 / math.Max(floats.Norm(g, 2), 1)
		}
		var fNew float64
		accepted := false
		for range maxHalvings {
			floats.AddScaledTo(xNew, x, step, d)
			fNew = fg(xNew, gNew)
			st.Evaluations++
			if fNew <= f+armijo*step*slope {
				accepted = true
				break
			}
			step /= 2
		}
		if !accepted {
			st.Status = "converged (no decrease along the search direction at float precision)"
			break
		}
		s, yv := make([]float64, n), make([]float64, n)
		floats.SubTo(s, xNew, x)
		floats.SubTo(yv, gNew, g)
		if sy := floats.Dot(s, yv); sy > 1e-12*floats.Norm(s, 2)*floats.Norm(yv, 2) && sy > 0 {
			if len(sHist) == lbfgsMemory {
				sHist, yHist, rho = sHist[1:], yHist[1:], rho[1:]
			}
			sHist, yHist, rho = append(sHist, s), append(yHist, yv), append(rho, 1/sy)
		}
		decrease := f - fNew
		copy(x, xNew)
		copy(g, gNew)
		f = fNew
		st.Iterations++
		st.Curve = append(st.Curve, f)
		if decrease <= funcTol*math.Max(math.Abs(f), 1) {
			if stalled++; stalled >= stallIterations {
				st.Status = "converged (objective)"
				break
			}
		} else {
			stalled = 0
		}
	}
	st.Loss = f
	return st, nil
}
