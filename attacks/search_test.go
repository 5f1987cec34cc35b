package attacks

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// smallIntRows draws n×d entries in {-3..3}: dot products are exact in float32, so ties really happen and the
// tie-breaking rule is checked, not the rounding.
func smallIntRows(n, d int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.IntN(7) - 3)
	}
	return x
}

func bruteForce(q, t rowSet, k int) ([]int32, []int32) {
	top := make([]int32, 0, q.n*k)
	for i := range q.n {
		type cand struct {
			row   int
			score float32
		}
		var cs []cand
		for j := range t.n {
			var s float32
			for c := range q.d {
				s += q.data[i*q.d+c] * t.data[j*t.d+c]
			}
			if t.bias != nil {
				s += t.bias[j]
			}
			cs = append(cs, cand{j, s})
		}
		slices.SortStableFunc(cs, func(a, b cand) int {
			switch {
			case a.score > b.score:
				return -1
			case a.score < b.score:
				return 1
			}
			return a.row - b.row
		})
		for r := range k {
			if r < len(cs) {
				top = append(top, t.id(cs[r].row))
			} else {
				top = append(top, NoGuess)
			}
		}
	}
	col := make([]int32, t.n)
	for j := range t.n {
		col[j] = -1
		var best float32
		for i := range q.n {
			var s float32
			for c := range q.d {
				s += q.data[i*q.d+c] * t.data[j*t.d+c]
			}
			if col[j] < 0 || s > best {
				col[j], best = int32(i), s
			}
		}
	}
	return top, col
}

func TestSearchMatchesBruteForce(t *testing.T) {
	const d = 6
	q := rowSet{data: smallIntRows(37, d, 1), n: 37, d: d}
	ids := make([]int32, 53)
	for i := range ids {
		ids[i] = int32(1000 + 2*i)
	}
	for _, withBias := range []bool{false, true} {
		tg := rowSet{data: smallIntRows(53, d, 2), n: 53, d: d, ids: ids}
		if withBias {
			tg.bias = l2Bias(tg)
		}
		for _, tl := range []tiling{{5, 8}, {64, 64}, {1, 1}} {
			for _, k := range []int{1, 4} {
				nb, col, err := search(context.Background(), q, tg, k, true, tl)
				if err != nil {
					t.Fatal(err)
				}
				wantTop, wantCol := bruteForce(q, tg, k)
				if !slices.Equal(nb.ids, wantTop) {
					t.Errorf("bias=%v tiling=%v k=%d: top-k\n got %v\nwant %v", withBias, tl, k, nb.ids, wantTop)
				}
				if !withBias && !slices.Equal(col.query, wantCol) {
					t.Errorf("tiling=%v k=%d: column best\n got %v\nwant %v", tl, k, col.query, wantCol)
				}
			}
		}
	}
}

func TestSearchFewerTargetsThanK(t *testing.T) {
	q := rowSet{data: smallIntRows(3, 4, 5), n: 3, d: 4}
	tg := rowSet{data: smallIntRows(2, 4, 6), n: 2, d: 4}
	nb, _, err := search(context.Background(), q, tg, 4, false, defaultTiling)
	if err != nil {
		t.Fatal(err)
	}
	for i := range q.n {
		row := nb.ids[i*4 : (i+1)*4]
		if row[2] != NoGuess || row[3] != NoGuess || row[0] == NoGuess || row[1] == NoGuess || row[0] == row[1] {
			t.Fatalf("query %d: %v, want both targets then NoGuess", i, row)
		}
	}
}

func TestSearchHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q := rowSet{data: smallIntRows(3, 4, 5), n: 3, d: 4}
	if _, _, err := search(ctx, q, q, 1, false, defaultTiling); err == nil {
		t.Fatal("search ran with a cancelled context")
	}
}
