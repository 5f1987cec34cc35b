package shaking

import (
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/operators"
)

// BenchmarkPrivateInference measures private inference against plaintext inference side by side, on the tiny
// preset and 256 real SST-2 dev sentences: plaintext = tokenize, the cloud's forward pass with E, labels;
// private = tokenize, the client's π-encoding, the cloud's forward pass with E_s (gaussian σ = 1), labels. The two
// alternate within every iteration (order flipped each time, so drift hits both), and the benchmark reports each
// one's seconds per query and their ratio, private/plaintext: it is the same computation, so the ratio should
// be 1 within noise. Run: go test -run '^$' -bench PrivateInference -benchtime 5x ./shaking/
func BenchmarkPrivateInference(b *testing.B) {
	dir, tok := testkit.Tokenizer(b)
	set, err := datasets.Load(dir, "sst2", "dev")
	if err != nil {
		b.Fatal(err)
	}
	examples := set.Examples[:256]
	info, _ := datasets.Task("sst2")
	p, err := models.LookupPreset("tiny")
	if err != nil {
		b.Fatal(err)
	}
	public, err := models.New(p, tok.VocabSize(), 1)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := finetune.Predict(public, info, finetune.Encode(tok, examples[:1], p.MaxLen)); err != nil {
		b.Fatal(err) // creates the task head, so that the shaken copy has it too
	}
	chain, err := operators.ParseChain("gaussian:sigma=1")
	if err != nil {
		b.Fatal(err)
	}
	key, err := operators.NewKey(operators.SeedFromUint64(1), operators.KeyOptions{VocabSize: tok.VocabSize(),
		Special: tok.SpecialIDs(), Horizontal: true, Chain: chain})
	if err != nil {
		b.Fatal(err)
	}
	client, err := NewClient(key, public)
	if err != nil {
		b.Fatal(err)
	}
	table, err := client.ShakeTable()
	if err != nil {
		b.Fatal(err)
	}
	cloud, err := public.Clone(1)
	if err != nil {
		b.Fatal(err)
	}
	if err := cloud.SetTokenTable(table); err != nil {
		b.Fatal(err)
	}
	infer := func(m *models.Model, encode func(*finetune.Encoded) *finetune.Encoded) time.Duration {
		start := time.Now()
		query := encode(finetune.Encode(tok, examples, p.MaxLen))
		_, logits, err := finetune.Predict(m, info, query)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := finetune.Score(info, finetune.PredictionsFromLogits(logits, query.N), query.Labels); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	plain := func(e *finetune.Encoded) *finetune.Encoded { return e }
	infer(public, plain) // warm both paths once
	infer(cloud, client.EncodeData)
	b.ResetTimer()
	var tPlain, tPrivate time.Duration
	for i := range b.N {
		if i%2 == 0 {
			tPlain += infer(public, plain)
			tPrivate += infer(cloud, client.EncodeData)
		} else {
			tPrivate += infer(cloud, client.EncodeData)
			tPlain += infer(public, plain)
		}
	}
	n := float64(b.N * len(examples))
	b.ReportMetric(tPlain.Seconds()/n*1e3, "plain-ms/query")
	b.ReportMetric(tPrivate.Seconds()/n*1e3, "private-ms/query")
	b.ReportMetric(tPrivate.Seconds()/tPlain.Seconds(), "private/plain")
}
