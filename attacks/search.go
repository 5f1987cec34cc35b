package attacks

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// rowSet is a row-major n×d float32 matrix whose rows stand for ids.
type rowSet struct {
	data []float32
	n, d int
	// ids[r] is the id row r stands for; nil means r itself.
	ids []int32
	// bias[r] is added to every score against target row r (L2 search); nil means none.
	bias []float32
}

func (s rowSet) id(r int) int32 {
	if s.ids == nil {
		return int32(r)
	}
	return s.ids[r]
}

// gather copies the rows of a V×d table listed in ids into a new rowSet.
func gather(table []float32, d int, ids []int32) rowSet {
	out := make([]float32, len(ids)*d)
	for r, id := range ids {
		copy(out[r*d:(r+1)*d], table[int(id)*d:int(id+1)*d])
	}
	return rowSet{data: out, n: len(ids), d: d, ids: ids}
}

// normalizeRows scales every row to unit L2 norm in place (all-zero rows stay zero).
func normalizeRows(x []float32, d int) {
	for r := 0; r < len(x)/d; r++ {
		row := x[r*d : (r+1)*d]
		var s float64
		for _, v := range row {
			s += float64(v) * float64(v)
		}
		if s == 0 {
			continue
		}
		inv := float32(1 / math.Sqrt(s))
		for j := range row {
			row[j] *= inv
		}
	}
}

// l2Bias returns −‖t‖²/2 per row: with it, q·t − ‖t‖²/2 = (‖q‖² − ‖q − t‖²)/2 ranks targets by L2 distance.
func l2Bias(t rowSet) []float32 {
	b := make([]float32, t.n)
	for r := range t.n {
		var s float64
		for _, v := range t.data[r*t.d : (r+1)*t.d] {
			s += float64(v) * float64(v)
		}
		b[r] = float32(-s / 2)
	}
	return b
}

// neighbours holds each query's k best targets, best first.
type neighbours struct {
	k      int
	ids    []int32   // queries×k target ids (rowSet.id), NoGuess where fewer than k targets
	scores []float32 // the matching scores, −Inf where none
}

// colBest is, for each target row, the query with the highest score (the backward nearest neighbour; a
// target's bias is the same for every query, so it does not change which query is best).
type colBest struct {
	query []int32 // query row index, −1 when none
	score []float32
}

// tiling is the tile shape of the search: queries × targets scores per Gemm call (2 MiB of float32 by default,
// which stays in cache while the tile is scanned).
type tiling struct{ queries, targets int }

var defaultTiling = tiling{queries: 512, targets: 1024}

// search returns for every query row its k target rows of highest score q·t + bias(t), ties going to the
// lower target row; with wantCol it also returns every target's best query (ties to the lower query row).
// Scores come tile by tile from float32 Gemm; the full queries×targets matrix is never held. ctx is checked
// between tiles.
func search(ctx context.Context, q, t rowSet, k int, wantCol bool, tl tiling) (neighbours, *colBest, error) {
	if q.d != t.d {
		return neighbours{}, nil, fmt.Errorf("search: query width %d ≠ target width %d", q.d, t.d)
	}
	nb := neighbours{k: k, ids: make([]int32, q.n*k), scores: make([]float32, q.n*k)}
	for i := range nb.ids {
		nb.ids[i] = NoGuess
		nb.scores[i] = float32(math.Inf(-1))
	}
	var col *colBest
	if wantCol {
		col = &colBest{query: make([]int32, t.n), score: make([]float32, t.n)}
		for i := range col.query {
			col.query[i] = -1
			col.score[i] = float32(math.Inf(-1))
		}
	}
	if q.n == 0 || t.n == 0 {
		return nb, col, nil
	}
	d := q.d
	workers := max(1, runtime.GOMAXPROCS(0))
	buf := make([]float32, tl.queries*tl.targets)
	// Per-worker column maxima of the current tile, merged in worker order after the scan.
	var wcol [][]float32
	var wcolQ [][]int32
	if wantCol {
		wcol = make([][]float32, workers)
		wcolQ = make([][]int32, workers)
		for w := range workers {
			wcol[w] = make([]float32, tl.targets)
			wcolQ[w] = make([]int32, tl.targets)
		}
	}
	// Best target row per query slot (row indices into t, converted to ids at the end).
	rows := make([]int32, q.n*k)
	for i := range rows {
		rows[i] = -1
	}
	for q0 := 0; q0 < q.n; q0 += tl.queries {
		nq := min(tl.queries, q.n-q0)
		for t0 := 0; t0 < t.n; t0 += tl.targets {
			if err := ctx.Err(); err != nil {
				return neighbours{}, nil, fmt.Errorf("search: %w", err)
			}
			nt := min(tl.targets, t.n-t0)
			c := blas32.General{Rows: nq, Cols: nt, Stride: nt, Data: buf[:nq*nt]}
			blas32.Gemm(blas.NoTrans, blas.Trans, 1,
				blas32.General{Rows: nq, Cols: d, Stride: d, Data: q.data[q0*d : (q0+nq)*d]},
				blas32.General{Rows: nt, Cols: d, Stride: d, Data: t.data[t0*d : (t0+nt)*d]},
				0, c)
			var bias []float32
			if t.bias != nil {
				bias = t.bias[t0 : t0+nt]
			}
			w := min(workers, nq)
			var wg sync.WaitGroup
			for wi := range w {
				lo, hi := wi*nq/w, (wi+1)*nq/w
				wg.Go(func() {
					var cs []float32
					var cq []int32
					if wantCol {
						cs, cq = wcol[wi][:nt], wcolQ[wi][:nt]
						for j := range cs {
							cs[j] = float32(math.Inf(-1))
							cq[j] = -1
						}
					}
					for r := lo; r < hi; r++ {
						qi := q0 + r
						scanRow(c.Data[r*nt:(r+1)*nt], bias, int32(t0), nb.scores[qi*k:(qi+1)*k], rows[qi*k:(qi+1)*k])
						if wantCol {
							trackColumns(c.Data[r*nt:(r+1)*nt], bias, int32(qi), cs, cq)
						}
					}
				})
			}
			wg.Wait()
			if wantCol {
				for wi := range w { // workers hold increasing query ranges: strict > keeps the lower query on ties
					for j := range nt {
						if wcolQ[wi][j] >= 0 && wcol[wi][j] > col.score[t0+j] {
							col.score[t0+j], col.query[t0+j] = wcol[wi][j], wcolQ[wi][j]
						}
					}
				}
			}
		}
	}
	for i, r := range rows {
		if r >= 0 {
			nb.ids[i] = t.id(int(r))
		}
	}
	return nb, col, nil
}

// scanRow merges one row of tile scores (targets t0, t0+1, ...) into a query's running top-k (scores sorted
// descending, rows the matching target rows). A target replaces a kept one only with a strictly higher score, so
// ties keep the lower target row.
func scanRow(scores, bias []float32, t0 int32, topS []float32, topR []int32) {
	k := len(topS)
	floor := topS[k-1]
	for j, s := range scores {
		if bias != nil {
			s += bias[j]
		}
		if !(s > floor) {
			continue
		}
		p := k - 1
		for p > 0 && s > topS[p-1] {
			topS[p], topR[p] = topS[p-1], topR[p-1]
			p--
		}
		topS[p], topR[p] = s, t0+int32(j)
		floor = topS[k-1]
	}
}

// trackColumns records query as the best of every target whose score it strictly beats.
func trackColumns(scores, bias []float32, query int32, best []float32, bestQ []int32) {
	for j, s := range scores {
		if bias != nil {
			s += bias[j]
		}
		if s > best[j] {
			best[j], bestQ[j] = s, query
		}
	}
}
