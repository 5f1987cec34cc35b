package shaking

import (
	stdctx "context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
	"github.com/cyphertalk/cyphertalk-go/internal/recipecache"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/operators"
)

// keyFor builds the run's key: from a key file, a random chain, or the explicit chain.
func keyFor(cfg Config, run method.Run, vocab, dim int, special []int32) (operators.Key, error) {
	if cfg.KeyFile != "" {
		k, err := operators.LoadKey(cfg.KeyFile, vocab)
		if err != nil {
			return operators.Key{}, err
		}
		if k.Dim != 0 && k.Dim != dim {
			return operators.Key{}, fmt.Errorf("key %s is for width %d, the model has %d", cfg.KeyFile, k.Dim, dim)
		}
		return k, nil
	}
	seedN := uint64(cfg.KeySeed)
	if seedN == 0 {
		seedN = run.Seed
	}
	opts := operators.KeyOptions{VocabSize: vocab, Dim: dim, Special: special, Horizontal: cfg.Horizontal}
	if cfg.RandomOps > 0 {
		opts.Random = &operators.RandomChain{N: cfg.RandomOps}
	} else {
		chain, err := operators.ParseChain(cfg.Ops)
		if err != nil {
			return operators.Key{}, err
		}
		opts.Chain = chain
		if opts.Chain == nil {
			opts.Chain = []operators.OpSpec{}
		}
	}
	return operators.NewKey(operators.SeedFromUint64(seedN), opts)
}

// implanted is the cached outcome of key implantation (phases 2a–2c) for one key and recovery recipe.
type implanted struct {
	Costs     []method.Cost       `json:"costs"`
	Curve     []method.CurvePoint `json:"curve"`
	Extra     map[string]float64  `json:"extra"`
	PiExposed bool                `json:"pi_exposed"`
	ModelPath string              `json:"-"`
	FromCache bool                `json:"-"`
	// Received is E_s as the cloud received it from the client, when the client's recovery moved it
	// (Config.clientMovesTable); nil when the cloud received the shaken table. Cached as receivedTableFile.
	Received []float32 `json:"-"`
}

// receivedTableFile holds implanted.Received in an implantation's cache directory: little-endian float32, V×d.
const receivedTableFile = "received-table.f32"

// implantKey runs shaking and recovery and returns the cloud's model. The result is cached in the recipe cache
// under <cache>/implanted/<preset>-<hash of base model, key fingerprint, recovery recipe and seed>/ (model.bin,
// implant.json and, when the attacks need it, received-table.f32), so runs that share a key (e.g. several
// fine-tuning seeds) implant it once; their cost records say so. Without a saved base model or a cache directory
// nothing is cached.
func implantKey(ctx stdctx.Context, env method.Env, s *harness.Setup, client *Client, cfg Config, seed uint64) (*models.Model, *implanted, error) {
	if s.BasePath == "" || env.CacheDir == "" {
		return runImplant(ctx, env, s, client, cfg, seed)
	}
	key := implantCacheKey(s, client.KeyFingerprint(), cfg, seed)
	// The attacks score the received table, so an entry for them must hold it.
	needTable := cfg.Attacks && cfg.clientMovesTable()
	legacy := func(dir string) error {
		var imp implanted
		b, err := os.ReadFile(filepath.Join(dir, "implant.json"))
		if err == nil {
			err = json.Unmarshal(b, &imp)
		}
		if err == nil {
			_, err = os.Stat(filepath.Join(dir, "model.bin"))
		}
		if err == nil && needTable {
			_, err = os.Stat(filepath.Join(dir, receivedTableFile))
		}
		return err
	}
	var m *models.Model
	var imp *implanted
	entry, err := recipecache.New(env.CacheDir, env.Log).GetOrBuild(ctx, key, recipecache.Options{Legacy: legacy},
		func(ctx stdctx.Context, dir string) error {
			var err error
			if m, imp, err = runImplant(ctx, env, s, client, cfg, seed); err != nil {
				return err
			}
			if err := m.Save(filepath.Join(dir, "model.bin"), map[string]string{"key_fingerprint": client.KeyFingerprint()}); err != nil {
				return err
			}
			if imp.Received != nil && cfg.Attacks { // only the attacks read it (and Attacks is part of the recipe hash)
				if err := atomicfile.Write(filepath.Join(dir, receivedTableFile), tableBytes(imp.Received), 0o644); err != nil {
					return err
				}
			}
			b, _ := json.MarshalIndent(imp, "", "  ")
			return atomicfile.Write(filepath.Join(dir, "implant.json"), b, 0o644)
		})
	if err != nil {
		return nil, nil, err
	}
	if entry.Built {
		return m, imp, nil
	}
	if m, imp, err = openImplanted(entry.Dir, seed, needTable); err != nil { // the manifest vouched for the files
		return nil, nil, fmt.Errorf("cached implantation in %s: %w", entry.Dir, err)
	}
	env.Log.Info("implanted model found in cache", "dir", entry.Dir)
	return m, imp, nil
}

// implantCacheKey is the recipe-cache key of an implantation: the base model, the key's fingerprint, the
// recovery recipe and the seed.
func implantCacheKey(s *harness.Setup, keyFingerprint string, cfg Config, seed uint64) recipecache.Key {
	cfg.TuneTable = false // private tuning does not change the implanted model
	cfg.KeyFile = ""      // the key is identified by its fingerprint,
	cfg.KeySeed = 0       // and the implantation's randomness by seed (key_seed = 1 and seed 1 share an entry)
	return recipecache.Key{Kind: "implanted", Name: s.Public.Preset.Name, Version: "implant/1", Recipe: struct {
		Base, Key string
		Cfg       Config
		Seed      uint64
	}{s.BasePath, keyFingerprint, cfg, seed}}
}

// openImplanted reads a cached implantation (with the received table when withTable).
func openImplanted(dir string, seed uint64, withTable bool) (*models.Model, *implanted, error) {
	b, err := os.ReadFile(filepath.Join(dir, "implant.json"))
	if err != nil {
		return nil, nil, err
	}
	imp := &implanted{FromCache: true}
	if err := json.Unmarshal(b, imp); err != nil {
		return nil, nil, fmt.Errorf("implant.json: %w", err)
	}
	m, _, err := models.Load(filepath.Join(dir, "model.bin"), seed)
	if err != nil {
		return nil, nil, err
	}
	if withTable {
		if imp.Received, err = readTable(filepath.Join(dir, receivedTableFile), m.VocabSize*m.Preset.Hidden); err != nil {
			return nil, nil, err
		}
	}
	return m, imp, nil
}

// tableBytes and readTable store a float32 table as little-endian bytes.
func tableBytes(t []float32) []byte {
	b := make([]byte, 4*len(t))
	for i, v := range t {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func readTable(path string, n int) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) != 4*n {
		return nil, fmt.Errorf("%s: %d bytes, want %d float32 values", path, len(b), n)
	}
	t := make([]float32, n)
	for i := range t {
		t[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return t, nil
}
