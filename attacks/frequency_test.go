package attacks

import (
	"slices"
	"testing"
)

func TestFrequencyRecoversExactStatistics(t *testing.T) {
	// Uploads that are the public corpus in miniature: distinct counts, same order.
	const v = 300
	counts := make([]int64, v)
	var original []int32
	for id := 5; id < v; id++ {
		counts[id] = int64(2 * (v - id))
		for range v - id {
			original = append(original, int32(id))
		}
	}
	counts[7], counts[8] = counts[8], counts[7] // break the id order: ranks must come from the counts
	sc := shaken(t, randomTable(v, 4, 1), v, 4, counts, reorder(original, 7, 8), "", true, 2)
	g, err := Frequency(sc.pub, Observed{Uploads: sc.obs.Uploads}, 5) // no table needed
	if err != nil {
		t.Fatal(err)
	}
	r, err := sc.scorer.Table(NameFrequency, g, sc.obs.Uploads)
	if err != nil {
		t.Fatal(err)
	}
	if r.Top1 != 1 {
		t.Errorf("frequency on exact statistics: top-1 %.4f, want 1", r.Top1)
	}
}

// reorder swaps the upload counts of ids a and b, so that the uploads follow public counts swapped the same way.
func reorder(ids []int32, a, b int32) []int32 {
	out := slices.Clone(ids)
	for i, id := range out {
		switch id {
		case a:
			out[i] = b
		case b:
			out[i] = a
		}
	}
	return out
}

func TestFrequencyIsRandomOnFlatUploads(t *testing.T) {
	counts, _ := zipfClient()
	var uploads []int32
	for id := len(testSpecial); id < testV; id++ {
		uploads = append(uploads, int32(id), int32(id)) // every id twice: no frequency signal
	}
	sc := shaken(t, randomTable(testV, testD, 3), testV, testD, counts, uploads, "", true, 4)
	g, err := Frequency(sc.pub, sc.obs, 5)
	if err != nil {
		t.Fatal(err)
	}
	if top1, top5 := mustScore(t, sc, NameFrequency, g); top1 > 0.002 || top5 > 0.005 {
		t.Errorf("frequency on flat uploads: top-1 %.4f top-5 %.4f, want random (%.4f, %.4f)", top1, top5, 1.0/(testV-5), 5.0/(testV-5))
	}
}

func TestFrequencyMidRanksAndOrder(t *testing.T) {
	// Public ranking (non-special): 10 > 11 > 12 > 13 > 14 > 15. Uploads: 20 ×3, 21 ×1, 22 ×1, 23 ×1.
	counts := make([]int64, 30)
	for i, id := range []int{10, 11, 12, 13, 14, 15} {
		counts[id] = int64(100 - i)
	}
	pub := Public{Table: make([]float32, 30), V: 30, D: 1, Counts: counts, Special: []int32{0}}
	g, err := Frequency(pub, Observed{Uploads: []int32{21, 20, 22, 20, 23, 20, 0}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	// 20 has rank 0; 21..23 tie on ranks 1..3, mid-rank 2: nearest public ranks 2, then 1 and 3 (1 first, the
	// more frequent at equal distance).
	want := map[int][]int32{0: {0, NoGuess, NoGuess}, 20: {10, 11, 12}, 21: {12, 11, 13}, 22: {12, 11, 13}, 23: {12, 11, 13}, 5: {NoGuess, NoGuess, NoGuess}}
	for row, w := range want {
		if got := g.Row(row); !slices.Equal(got, w) {
			t.Errorf("row %d: %v, want %v", row, got, w)
		}
	}
	if _, err := Frequency(Public{Table: pub.Table, V: 30, D: 1}, Observed{Uploads: []int32{1}}, 3); err == nil {
		t.Error("frequency ran without public counts")
	}
}
