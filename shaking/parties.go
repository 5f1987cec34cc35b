package shaking

import (
	"fmt"

	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/operators"
)

// Client is the data owner: it holds the secret key, π, and a copy of the public base model.
type Client struct {
	key     operators.Key
	perm    operators.Perm
	public  *models.Model
	applied *operators.Applied
}

// NewClient prepares a client for a key and the public model (which the client downloads like anyone else).
func NewClient(key operators.Key, public *models.Model) (*Client, error) {
	if key.VocabSize != public.VocabSize {
		return nil, fmt.Errorf("key is for a vocabulary of %d ids, the model has %d", key.VocabSize, public.VocabSize)
	}
	perm, err := operators.Permutation(key)
	if err != nil {
		return nil, err
	}
	return &Client{key: key, perm: perm, public: public}, nil
}

// KeyFingerprint is the key's fingerprint (what results may record).
func (c *Client) KeyFingerprint() string { return c.key.Fingerprint() }

// Pi maps one token id through π.
func (c *Client) Pi(id int32) int32 { return c.perm[id] }

// ShakeTable computes E_s = π(V(E)) from the public model's token table.
func (c *Client) ShakeTable() ([]float32, error) {
	shaken, applied, err := operators.Shake(c.public.TokenTable(), c.public.VocabSize, c.public.Preset.Hidden, c.key)
	if err != nil {
		return nil, fmt.Errorf("shaking the token table: %w", err)
	}
	c.applied = applied
	return shaken, nil
}

// Applied is the record of the last ShakeTable (nil before).
func (c *Client) Applied() *operators.Applied { return c.applied }

// EncodeData π-encodes the client's private examples (already tokenised): what it uploads.
func (c *Client) EncodeData(e *finetune.Encoded) *finetune.Encoded { return e.MapIDs(c.Pi) }

// PermuteVocabVector returns v with entry i moved to π(i) (e.g. the public MLM bias in shaken space; only the
// key holder can do this, and it must not be sent to the cloud).
func (c *Client) PermuteVocabVector(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[c.perm[i]] = x
	}
	return out
}

// Cloud holds a model and never receives the key.
type Cloud struct {
	Model *models.Model
}
