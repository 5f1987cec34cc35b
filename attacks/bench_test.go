package attacks

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
	"github.com/cyphertalk/cyphertalk-go/operators"
)

// gemmFloor times the bare V×V score computation of a nearest-neighbour search over the whole table (float32
// Gemm tile by tile, no top-k): the floor every attack is measured against.
func gemmFloor(table []float32, v, d int) time.Duration {
	buf := make([]float32, defaultTiling.queries*defaultTiling.targets)
	start := time.Now()
	for q0 := 0; q0 < v; q0 += defaultTiling.queries {
		nq := min(defaultTiling.queries, v-q0)
		for t0 := 0; t0 < v; t0 += defaultTiling.targets {
			nt := min(defaultTiling.targets, v-t0)
			blas32.Gemm(blas.NoTrans, blas.Trans, 1,
				blas32.General{Rows: nq, Cols: d, Stride: d, Data: table[q0*d : (q0+nq)*d]},
				blas32.General{Rows: nt, Cols: d, Stride: d, Data: table[t0*d : (t0+nt)*d]},
				0, blas32.General{Rows: nq, Cols: nt, Stride: nt, Data: buf[:nq*nt]})
		}
	}
	return time.Since(start)
}

// BenchmarkAttacks runs every attack at full size (bert-base-uncased's V = 30,522; d = 128, and d = 768 for
// nearest neighbour) on a random table shaken by π and a tilt, with 30,000 uploaded tokens drawn from a Zipf
// distribution. Besides ns/op each line reports "floors": its time over that of one bare V×V×d Gemm pass at
// the same width, the least any search over the whole table costs.
func BenchmarkAttacks(b *testing.B) {
	ctx := context.Background()
	for _, d := range []int{128, 768} {
		v := operators.BertVocabSize
		table := randomTable(v, d, 1)
		z := newZipfOver(v, operators.BertSpecialIDs, 1)
		sc := shakenBert(b, table, v, d, z.counts(v, 1e7), z.sample(30000, 2), "tilt:angle=0.3")
		run := func(name string, fn func() error) {
			b.Run(fmt.Sprintf("d=%d/%s", d, name), func(b *testing.B) {
				// Timed next to the attack, so that both see the same load on a shared machine.
				floor := gemmFloor(table, v, d)
				for b.Loop() {
					if err := fn(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(floor), "floors")
			})
		}
		all := sc.obs
		all.Uploads = nil
		run("nn-cosine/all-rows", func() error { _, err := NearestNeighbour(ctx, sc.pub, all, Cosine, 5); return err })
		run("nn-cosine/uploads", func() error { _, err := NearestNeighbour(ctx, sc.pub, sc.obs, Cosine, 5); return err })
		if d > 128 {
			continue // the other attacks' cost grows with d the same way
		}
		run("nn-l2/uploads", func() error { _, err := NearestNeighbour(ctx, sc.pub, sc.obs, L2, 5); return err })
		vectors := make([]float32, 0, 20000*d)
		for _, id := range sc.truth[:20000] {
			vectors = append(vectors, table[int(id)*d:int(id+1)*d]...)
		}
		run("nn-cosine/20000-vectors", func() error {
			_, err := NearestNeighbourVectors(ctx, sc.pub, vectors, Cosine, 5)
			return err
		})
		run("frequency", func() error { _, err := Frequency(sc.pub, sc.obs, 5); return err })
		run("alignment", func() error { _, _, err := AlignmentAttack(ctx, sc.pub, sc.obs, 5, quiet); return err })
		run("frequency+alignment", func() error {
			_, _, err := FrequencyAlignmentAttack(ctx, sc.pub, sc.obs, 5, quiet)
			return err
		})
	}
}

// BenchmarkRealTable measures the attacks where they matter: on the project's own pre-trained table (the first
// checkpoint under ../cache/pretrain; skipped when there is none, or no data), with public counts from Brown and
// the uploads of 2,000 SST-2 private-pool sentences (bert-base-uncased, T = 64, padding excluded). Each chain is
// one sub-benchmark; besides the time it reports every attack's top-1 and content-word top-1 recovery.
func BenchmarkRealTable(b *testing.B) {
	paths, _ := filepath.Glob(filepath.Join("..", "cache", "pretrain", "*", "model.bin"))
	if len(paths) == 0 {
		b.Skip("no pre-trained checkpoint under ../cache/pretrain")
	}
	dir, tok := testkit.Tokenizer(b)
	corpus, err := pretrain.BuildCorpus(dir, tok, nil)
	if err != nil {
		b.Fatal(err)
	}
	v := tok.VocabSize()
	counts := make([]int64, v)
	for _, s := range corpus.Sentences() {
		for _, id := range s {
			counts[id]++
		}
	}
	set, err := datasets.Load(dir, "sst2", "train")
	if err != nil {
		b.Fatal(err)
	}
	private, _ := datasets.Pools(set.Examples)
	var uploads []int32
	for _, ex := range datasets.Subsample(private, 2000, 1) {
		e := tok.Encode(ex.TextA, ex.TextB, 64)
		for i, id := range e.IDs {
			if e.Mask[i] == 1 {
				uploads = append(uploads, id)
			}
		}
	}
	m, _, err := models.Load(paths[0], 1)
	if err != nil {
		b.Fatal(err)
	}
	table, d := m.TokenTable(), m.Preset.Hidden
	b.Logf("table %s (V=%d, d=%d), %d uploaded tokens", paths[0], v, d, len(uploads))
	content := ContentMask(tok)
	for _, chain := range []string{"", "tilt:angle=3.14159", "gaussian:sigma=1;tilt:angle=0.5;inflate:scale=0.3;addv:scale=0.5",
		"gaussian:sigma=2", "dx-fixp:epsilon=30"} {
		sc := shakenBert(b, table, v, d, counts, uploads, chain)
		scorer, err := NewScorer(uploads, v, operators.BertSpecialIDs, content)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("chain="+chain, func(b *testing.B) {
			var res []method.AttackResult
			for b.Loop() {
				if res, err = Evaluate(context.Background(), sc.pub, sc.obs, scorer, quiet); err != nil {
					b.Fatal(err)
				}
			}
			for _, r := range res {
				b.ReportMetric(r.Top1, r.Attack+"-top1")
				b.ReportMetric(r.ContentTop1, r.Attack+"-content-top1")
			}
		})
	}
}
