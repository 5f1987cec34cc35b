package shaking

import (
	stdctx "context"
	"fmt"

	"github.com/cyphertalk/cyphertalk-go/attacks"
	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// ClientUploads are the token ids the client uploads in private tuning and inference (training examples and
// dev queries, padding excluded), in plaintext: the attacks' ground truth.
func ClientUploads(env method.Env, s *harness.Setup, T int) []int32 {
	var ids []int32
	for _, set := range [][]datasets.Example{s.Data.Train, s.Data.Dev} {
		enc := finetune.Encode(env.Tok, set, T)
		for i, id := range enc.IDs {
			if enc.Mask[i] == 1 {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// Attack runs every table attack (attacks.Evaluate) against what the cloud saw of this client: the table E_s it
// received (received; nil means the shaken table, as the client's key makes it) and the π-encoded uploads, with
// the public table and public token counts as its knowledge.
func Attack(ctx stdctx.Context, env method.Env, s *harness.Setup, client *Client, counts []int64, received []float32) ([]method.AttackResult, error) {
	public := s.Public
	shaken := received
	if shaken == nil {
		var err error
		if shaken, err = client.ShakeTable(); err != nil {
			return nil, err
		}
	}
	truth := ClientUploads(env, s, public.Preset.MaxLen)
	uploads := make([]int32, len(truth))
	for i, id := range truth {
		uploads[i] = client.Pi(id)
	}
	special := env.Tok.SpecialIDs()
	scorer, err := attacks.NewScorer(truth, public.VocabSize, special, attacks.ContentMask(env.Tok))
	if err != nil {
		return nil, fmt.Errorf("attack scoring: %w", err)
	}
	pub := attacks.Public{Table: public.TokenTable(), V: public.VocabSize, D: public.Preset.Hidden, Counts: counts, Special: special}
	obs := attacks.Observed{Table: shaken, Uploads: uploads}
	return attacks.Evaluate(ctx, pub, obs, scorer, attacks.AlignOptions{Log: env.Log})
}
