package cryptorun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

func TestAllocate(t *testing.T) {
	buckets := []int{16, 32, 64}
	for _, c := range []struct {
		n      int
		counts map[int]int
		want   map[int]int
	}{
		{8, map[int]int{16: 60, 32: 30, 64: 10}, map[int]int{16: 5, 32: 2, 64: 1}}, // one each, then proportional (4.8, 2.4, 0.8)
		{2, map[int]int{16: 10, 32: 30, 64: 20}, map[int]int{32: 1, 64: 1}},        // the largest buckets first
		{5, map[int]int{32: 1, 64: 9}, map[int]int{32: 1, 64: 4}},                  // capped by a bucket's size
		{20, map[int]int{16: 2, 32: 3}, map[int]int{16: 2, 32: 3}},                 // more slots than examples
	} {
		got := allocate(c.n, buckets, c.counts)
		for _, b := range buckets {
			if got[b] != c.want[b] {
				t.Errorf("allocate(%d, %v) = %v, want %v", c.n, c.counts, got, c.want)
				break
			}
		}
	}
}

func TestBucketsAndExtrapolate(t *testing.T) {
	if b, err := BucketOf(17, []int{16, 32}); err != nil || b != 32 {
		t.Errorf("BucketOf(17) = %d, %v", b, err)
	}
	if _, err := BucketOf(33, []int{16, 32}); err == nil {
		t.Error("33 tokens fit in buckets 16 and 32")
	}
	s := &Sample{Buckets: []int{16, 32, 64}, Examples: []Example{{Bucket: 16}, {Bucket: 16}, {Bucket: 32}}}
	// Bucket 16: mean 2; bucket 32: 10; bucket 64 unmeasured: the overall mean (14/3).
	got := s.Extrapolate([]float64{1, 3, 10}, map[int]int{16: 5, 32: 2, 64: 3})
	if want := 5*2 + 2*10 + 3*14.0/3; math.Abs(got-want) > 1e-12 {
		t.Errorf("Extrapolate = %v, want %v", got, want)
	}
	if u := s.Unmeasured(map[int]int{16: 5, 32: 2, 64: 3}); !slices.Equal(u, []int{64}) {
		t.Errorf("unmeasured %v", u)
	}
}

func TestCheck(t *testing.T) {
	want := cryptofriendly.Matrix{Rows: 1, Cols: 2, Data: []float64{1, -2}}
	if d, err := Check("e", 3, cryptofriendly.Matrix{Rows: 1, Cols: 2, Data: []float64{1.001, -2}}, want, 0.01); err != nil || math.Abs(d-0.001) > 1e-12 {
		t.Errorf("close logits: %v, %v", d, err)
	}
	if _, err := Check("e", 3, cryptofriendly.Matrix{Rows: 1, Cols: 2, Data: []float64{1.1, -2}}, want, 0.01); err == nil {
		t.Error("a difference of 0.1 passed a tolerance of 0.01")
	}
	if _, err := Check("e", 3, cryptofriendly.Matrix{Rows: 1, Cols: 2, Data: []float64{math.NaN(), -2}}, want, 0.01); err == nil {
		t.Error("NaN logits passed")
	}
	if _, err := Check("e", 3, cryptofriendly.Matrix{Rows: 2, Cols: 1, Data: []float64{1, -2}}, want, 0.01); err == nil {
		t.Error("logits of another shape passed")
	}
}

func TestProject(t *testing.T) {
	p := Project(Traffic{Seconds: 1, Bytes: 125_000_000, Latencies: 10})
	// LAN: 1 Gbit/s, 0.2 ms; WAN: 100 Mbit/s, 40 ms.
	if p["loopback"] != 1 || math.Abs(p["lan"]-(1+1+10*0.2e-3)) > 1e-9 || math.Abs(p["wan"]-(1+10+10*40e-3)) > 1e-9 {
		t.Errorf("Project = %v", p)
	}
}

// markerData is n sequences of length T whose label is 1 iff token 777 occurs.
func markerData(n, T int, seed uint64) *finetune.Encoded {
	rng := rand.New(rand.NewPCG(seed, 3))
	e := &finetune.Encoded{N: n, T: T}
	for i := range n {
		length := 4 + rng.IntN(T-5)
		for t := range T {
			id, m := int32(0), int32(0)
			if t < length {
				id, m = 100+rng.Int32N(900), 1
				if id == 777 {
					id++
				}
			}
			e.IDs, e.Segments, e.Mask = append(e.IDs, id), append(e.Segments, 0), append(e.Mask, m)
		}
		e.IDs[i*T] = 1
		if i%2 == 1 {
			e.IDs[i*T+1+rng.IntN(length-1)] = 777
		}
		e.Labels = append(e.Labels, float64(i%2))
	}
	return e
}

// TestPrepareCachedReusesTheVariant: a second preparation with the same recipe comes from the cache with the same
// dev metrics and weights; a different recipe does not; the sample's reference logits match gomlx's.
func TestPrepareCachedReusesTheVariant(t *testing.T) {
	p, err := models.LookupPreset("nano")
	if err != nil {
		t.Fatal(err)
	}
	info := datasets.TaskInfo{Name: "synthetic", NumLabels: 2, Metrics: []string{"accuracy"}}
	train, dev := markerData(64, p.MaxLen, 1), markerData(32, p.MaxLen, 2)
	opts := Options{FineTune: finetune.DefaultConfig(), Distill: cryptofriendly.DefaultDistillConfig(), CalibrationExamples: 32, CalibrationMargin: 2}
	opts.FineTune.Epochs, opts.Distill.Epochs = 1, 1
	cache := Cache{Dir: t.TempDir(), Base: "base.bin", Seed: 1}
	prepare := func(o Options) *Variant {
		m, err := models.New(p, 1000, 1)
		if err != nil {
			t.Fatal(err)
		}
		v, err := PrepareCached(context.Background(), cache, m, info, train, dev, o)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first, second := prepare(opts), prepare(opts)
	if first.FromCache || !second.FromCache {
		t.Fatalf("from cache: first %v, second %v", first.FromCache, second.FromCache)
	}
	if first.Metrics["accuracy"] != second.Metrics["accuracy"] || first.TeacherSeconds != second.TeacherSeconds ||
		!slices.Equal(first.Weights.Layers[0].FFNIn.W.Data, second.Weights.Layers[0].FFNIn.W.Data) || !slices.Equal(first.Logits, second.Logits) {
		t.Errorf("cached variant differs: metrics %v / %v", first.Metrics, second.Metrics)
	}
	other := opts
	other.Distill.Epochs = 2
	if prepare(other).FromCache {
		t.Error("a different recipe came from the cache")
	}
	s, err := second.Sample(3, []int{16, 32}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Examples) != 3 || s.VariantDiff > 1e-4 || s.Counts[16]+s.Counts[32] != dev.N {
		t.Errorf("sample of %d, variant diff %v, counts %v", len(s.Examples), s.VariantDiff, s.Counts)
	}
}

// TestPrepareCachedRebuildsACorruptEntry: a variant whose weights changed on disk after it was cached is prepared
// again rather than served, and keeps its directory name from before the recipe cache (a SHA-256 of the recipe
// with its format first).
func TestPrepareCachedRebuildsACorruptEntry(t *testing.T) {
	p, err := models.LookupPreset("nano")
	if err != nil {
		t.Fatal(err)
	}
	info := datasets.TaskInfo{Name: "synthetic", NumLabels: 2, Metrics: []string{"accuracy"}}
	train, dev := markerData(32, p.MaxLen, 1), markerData(16, p.MaxLen, 2)
	opts := Options{FineTune: finetune.DefaultConfig(), Distill: cryptofriendly.DefaultDistillConfig(), CalibrationExamples: 16, CalibrationMargin: 2}
	opts.FineTune.Epochs, opts.Distill.Epochs = 1, 1
	cache := Cache{Dir: t.TempDir(), Base: "base.bin", Seed: 1}
	teacher, err := models.New(p, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	prepare := func() *Variant {
		t.Helper()
		m, err := models.New(p, 1000, 1)
		if err != nil {
			t.Fatal(err)
		}
		v, err := PrepareCached(context.Background(), cache, m, info, train, dev, opts)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if prepare().FromCache {
		t.Fatal("the first preparation came from an empty cache")
	}
	ft, ds := opts.FineTune, opts.Distill
	ft.Progress, ft.Label, ds.Progress = false, "", false
	old, _ := json.Marshal(struct {
		Format, Base, Task string
		Preset             models.Preset
		Vocab              int
		Train, Dev         string
		FineTune           finetune.Config
		Distill            cryptofriendly.DistillConfig
		Table              bool
		Calibration        int
		Margin             float64
	}{"cryptofriendly-variant/1", cache.Base, info.Name, teacher.Preset, teacher.VocabSize, fingerprint(train), fingerprint(dev),
		ft, ds, opts.TableTrainable, opts.CalibrationExamples, opts.CalibrationMargin})
	sum := sha256.Sum256(old)
	dir := filepath.Join(cache.Dir, "cryptofriendly", "nano-"+hex.EncodeToString(sum[:])[:16])
	student := filepath.Join(dir, "student.bin")
	b, err := os.ReadFile(student)
	if err != nil {
		t.Fatalf("the variant is not in the folder the cache used before: %v", err)
	}
	b[len(b)-3] ^= 0x01 // a low bit of the last weight: it still loads and most likely scores the same
	if err := os.WriteFile(student, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if prepare().FromCache {
		t.Fatal("a variant whose weights changed on disk was served from the cache")
	}
	if !prepare().FromCache {
		t.Error("the prepared-again variant was not cached")
	}
}
