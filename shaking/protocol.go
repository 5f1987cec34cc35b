package shaking

import (
	stdctx "context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
	"github.com/cyphertalk/cyphertalk-go/operators"
)

// Setup is what both methods start from: the task data and the public base model.
type Setup struct {
	Data     *finetune.TaskData
	Public   *models.Model
	BasePath string // "" when the base model is untrained (pretrain = "none")
	Pretrain pretrain.Config
}

// NewSetup loads the run's data and the public base model (pre-training it, or taking it from the cache).
func NewSetup(ctx stdctx.Context, env method.Env, run method.Run) (*Setup, error) {
	data, err := finetune.LoadTaskData(env.DataDir, run.Task, run.MaxTrain, run.MaxEval, run.Seed)
	if err != nil {
		return nil, err
	}
	if data.Malformed > 0 {
		env.Log.Warn("malformed rows skipped", "task", run.Task, "rows", data.Malformed)
	}
	path, _, err := pretrain.Base(ctx, env.DataDir, env.Tok, run.Preset, run.Pretrain, pretrain.Options{CacheDir: env.CacheDir, Progress: env.Progress})
	if err != nil {
		return nil, err
	}
	s := &Setup{Data: data, BasePath: path, Pretrain: pretrain.DefaultConfig(run.Preset)}
	if path == "" {
		preset, err := models.LookupPreset(run.Preset)
		if err != nil {
			return nil, err
		}
		s.Public, err = models.New(preset, env.Tok.VocabSize(), run.Seed)
		if err != nil {
			return nil, err
		}
	} else if s.Public, _, err = models.Load(path, run.Seed, "/task_head"); err != nil {
		return nil, err
	}
	return s, nil
}

// tuneAndInfer runs private tuning and private inference: the client encodes (encode maps ids; identity for
// plaintext), the cloud fine-tunes m and returns logits, the client reads labels and scores them.
func tuneAndInfer(ctx stdctx.Context, env method.Env, run method.Run, s *Setup, m *models.Model, encode func(*finetune.Encoded) *finetune.Encoded,
	ledger *Ledger, res *method.Result) error {
	T := m.Preset.MaxLen
	info := s.Data.Info
	var upload *finetune.Encoded
	_ = ledger.Time(method.PhasePrivateTuning, method.Client, func() error {
		upload = encode(finetune.Encode(env.Tok, s.Data.Train, T))
		return nil
	})
	ledger.Send(method.PhasePrivateTuning, method.Client, encodedBytes(upload))
	cfg := finetune.DefaultConfig()
	if run.Epochs > 0 {
		cfg.Epochs = run.Epochs
	}
	if run.LearningRate > 0 {
		cfg.LearningRate = run.LearningRate
	}
	cfg.Seed, cfg.Progress, cfg.Label = run.Seed, env.Progress, fmt.Sprintf("%s private tuning", run.Task)
	var tuned *finetune.Result
	if err := ledger.Time(method.PhasePrivateTuning, method.Cloud, func() error {
		var err error
		tuned, err = finetune.Train(ctx, m, info, upload, cfg)
		return err
	}); err != nil {
		return err
	}
	ledger.Units(method.PhasePrivateTuning, cfg.Epochs, "epochs")
	for i, l := range tuned.Curve {
		res.Curve = append(res.Curve, method.CurvePoint{Phase: method.PhasePrivateTuning, Step: (i + 1) * tuned.Steps / len(tuned.Curve), Loss: l})
	}
	res.TrainExamples = upload.N

	var query *finetune.Encoded
	_ = ledger.Time(method.PhasePrivateInference, method.Client, func() error {
		query = encode(finetune.Encode(env.Tok, s.Data.Dev, T))
		return nil
	})
	ledger.Send(method.PhasePrivateInference, method.Client, encodedBytes(query))
	var logits []float32
	if err := ledger.Time(method.PhasePrivateInference, method.Cloud, func() error {
		var err error
		_, logits, err = finetune.Predict(m, info, query)
		return err
	}); err != nil {
		return err
	}
	ledger.Send(method.PhasePrivateInference, method.Cloud, int64(len(logits))*4)
	return ledger.Time(method.PhasePrivateInference, method.Client, func() error {
		preds := finetune.PredictionsFromLogits(logits, query.N)
		metrics, err := finetune.Score(info, preds, query.Labels)
		if err != nil {
			return err
		}
		res.Metrics = metrics
		res.EvalExamples = query.N
		ledger.Units(method.PhasePrivateInference, query.N, "examples")
		return nil
	})
}

// prepareTuning readies a model for fine-tuning: the encoder, pooler and head train; the token table trains only
// when tableTrainable.
func prepareTuning(m *models.Model, tableTrainable bool) {
	m.SetTrainableScopes("/embeddings", "/encoder", "/pooler", "/task_head")
	m.SetTokenTableTrainable(tableTrainable)
}

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

// implantKey runs shaking and recovery and returns the cloud's model. The result is cached under
// cacheDir/implanted/<hash of base model, key fingerprint, recovery recipe and seed>, so runs that share a key
// (e.g. several fine-tuning seeds) implant it once; their cost records say so.
func implantKey(ctx stdctx.Context, env method.Env, s *Setup, client *Client, cfg Config, seed uint64) (*models.Model, *implanted, error) {
	implantCfg := cfg
	implantCfg.TuneTable = false // private tuning does not change the implanted model
	implantCfg.KeyFile = ""      // the key is identified by its fingerprint,
	implantCfg.KeySeed = 0       // and the implantation's randomness by seed (key_seed = 1 and seed 1 share an entry)
	recipe, _ := json.Marshal(struct {
		Format, Base, Key string
		Cfg               Config
		Seed              uint64
	}{"implant/1", s.BasePath, client.KeyFingerprint(), implantCfg, seed})
	sum := sha256.Sum256(recipe)
	dir := filepath.Join(env.CacheDir, "implanted", s.Public.Preset.Name+"-"+hex.EncodeToString(sum[:])[:16])
	if s.BasePath != "" && env.CacheDir != "" {
		if b, err := os.ReadFile(filepath.Join(dir, "implant.json")); err == nil {
			var imp implanted
			if json.Unmarshal(b, &imp) == nil {
				m, _, err := models.Load(filepath.Join(dir, "model.bin"), seed)
				if err == nil && cfg.Attacks && cfg.clientMovesTable() {
					// The attacks score the received table: an entry without it (written before it was kept) is
					// implanted again.
					imp.Received, err = readTable(filepath.Join(dir, receivedTableFile), m.VocabSize*m.Preset.Hidden)
				}
				if err == nil {
					imp.FromCache = true
					env.Log.Info("implanted model found in cache", "dir", dir)
					return m, &imp, nil
				}
				env.Log.Info("implanting again: the cached implantation is incomplete", "dir", dir, "err", err)
			}
		}
	}
	m, imp, err := runImplant(ctx, env, s, client, cfg, seed)
	if err != nil {
		return nil, nil, err
	}
	if s.BasePath != "" && env.CacheDir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("caching the implanted model: %w", err)
		}
		if err := m.Save(filepath.Join(dir, "model.bin"), map[string]string{"key_fingerprint": client.KeyFingerprint()}); err != nil {
			return nil, nil, err
		}
		if imp.Received != nil && cfg.Attacks { // only the attacks read it (and Attacks is part of the recipe hash)
			if err := atomicfile.Write(filepath.Join(dir, receivedTableFile), tableBytes(imp.Received), 0o644); err != nil {
				return nil, nil, err
			}
		}
		b, _ := json.MarshalIndent(imp, "", "  ")
		if err := atomicfile.Write(filepath.Join(dir, "implant.json"), b, 0o644); err != nil {
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

func runImplant(ctx stdctx.Context, env method.Env, s *Setup, client *Client, cfg Config, seed uint64) (*models.Model, *implanted, error) {
	ledger := NewLedger()
	imp := &implanted{Extra: map[string]float64{}}
	public := s.Public
	V, d := public.VocabSize, public.Preset.Hidden

	// 2a: the client shakes the public table.
	var shakenTable []float32
	if err := ledger.Time(method.PhaseShaking, method.Client, func() error {
		var err error
		shakenTable, err = client.ShakeTable()
		return err
	}); err != nil {
		return nil, nil, err
	}
	imp.Extra["s_e"] = client.Applied().SE
	ledger.Send(method.PhaseShaking, method.Client, int64(V*d)*4)
	ledger.Units(method.PhaseShaking, V, "rows")

	shaken, err := public.Clone(seed)
	if err != nil {
		return nil, nil, err
	}
	if err := shaken.SetTokenTable(shakenTable); err != nil {
		return nil, nil, err
	}

	needCorpus := cfg.AwarenessSteps > 0 || cfg.FunctionSteps > 0 || cfg.MLMEvalBatches > 0
	var corpus *pretrain.Corpus
	if needCorpus {
		if corpus, err = pretrain.BuildCorpus(env.DataDir, env.Tok, s.Pretrain.PublicTasks); err != nil {
			return nil, nil, err
		}
	}
	T := public.Preset.MaxLen
	heldLoss := func(m *models.Model, pi func(int32) int32) (float64, error) {
		return pretrain.HeldOutLossMapped(m, pretrain.NewSampler(corpus, s.Pretrain, env.Tok, T, true, 7), cfg.MLMEvalBatches, pi)
	}
	var measuring time.Duration
	// stageLoss records the held-out masked-LM loss in shaken space after a recovery stage (a measurement made
	// with the key; its time is not booked to either party).
	stageLoss := func(name string, m *models.Model) error {
		if cfg.MLMEvalBatches == 0 {
			return nil
		}
		start := time.Now()
		l, err := heldLoss(m, client.Pi)
		imp.Extra[name] = l
		measuring += time.Since(start)
		return err
	}
	// The researcher's measurements (with the key, outside the protocol): the public model's held-out masked-LM
	// loss, and the shaken model's with the public output bias moved by π.
	if cfg.MLMEvalBatches > 0 && public.MLMBias() != nil {
		if imp.Extra["mlm_loss_base"], err = heldLoss(public, nil); err != nil {
			return nil, nil, err
		}
		probe, err := shaken.Clone(seed)
		if err != nil {
			return nil, nil, err
		}
		if err := probe.SetMLMBias(client.PermuteVocabVector(public.MLMBias())); err != nil {
			return nil, nil, err
		}
		if imp.Extra["mlm_loss_shaken"], err = heldLoss(probe, client.Pi); err != nil {
			return nil, nil, err
		}
	}

	// 2b: awareness recovery of layers ≤ k.
	if cfg.AwarenessSteps > 0 {
		smp := pretrain.NewSampler(corpus, s.Pretrain, env.Tok, T, false, seed^0xa11a)
		var curve []float64
		if err := ledger.Time(method.PhaseAwareness, cfg.AwarenessParty, func() error {
			curve, err = Awareness(ctx, public, shaken, smp, client.Pi, cfg.AwarenessLayer, cfg.RecoveryTable,
				StepConfig{Steps: cfg.AwarenessSteps, LearningRate: cfg.AwarenessLR, Progress: env.Progress, Label: "awareness recovery"})
			return err
		}); err != nil {
			return nil, nil, err
		}
		for i, l := range curve {
			imp.Curve = append(imp.Curve, method.CurvePoint{Phase: method.PhaseAwareness, Step: i + 1, Loss: l})
		}
		imp.Extra["awareness_loss_first"], imp.Extra["awareness_loss_last"] = curve[0], curve[len(curve)-1]
		if cfg.MLMEvalBatches > 0 && public.MLMBias() != nil {
			probe, err := shaken.Clone(seed)
			if err != nil {
				return nil, nil, err
			}
			if err := probe.SetMLMBias(client.PermuteVocabVector(public.MLMBias())); err != nil {
				return nil, nil, err
			}
			if err := stageLoss("mlm_loss_after_awareness", probe); err != nil {
				return nil, nil, err
			}
		}
		ledger.Units(method.PhaseAwareness, cfg.AwarenessSteps, "steps")
		if cfg.AwarenessParty == method.Client && cfg.RecoveryTable {
			imp.Received = shaken.TokenTable() // the client sends E_s as awareness recovery moved it
		}
		if cfg.AwarenessParty == method.Client {
			layers, err := shaken.Weights(AwarenessScopes(cfg.AwarenessLayer, false)...)
			if err != nil {
				return nil, nil, err
			}
			ledger.Send(method.PhaseAwareness, method.Client, layers.Bytes())
		} else {
			// The cloud needs π(x) with plaintext targets for every recovery batch: it learns π.
			imp.PiExposed = true
			B := int64(shaken.Preset.BatchSize)
			ledger.Send(method.PhaseAwareness, method.Client, int64(cfg.AwarenessSteps)*B*int64(T)*(4+4+1+1+int64(d)*4))
			ledger.Note(method.PhaseAwareness, "run on the cloud: the cloud sees x and π(x), so it learns π")
		}
	}

	// 2c: function recovery in shaken space.
	if cfg.FunctionSteps > 0 {
		uploads := make([]*Upload, max(cfg.FunctionSteps, cfg.BiasSteps))
		smp := pretrain.NewSampler(corpus, s.Pretrain, env.Tok, T, false, seed^0xf00d)
		var targets *teacherTargets
		if cfg.KDWeight > 0 {
			if targets, err = cachedTeacherTargets(ctx, env, s, seed^0xf00d, len(uploads), cfg.KDTopK); err != nil {
				return nil, nil, err
			}
			ledger.AddSeconds(method.PhaseFunction, method.Client, targets.Seconds)
			if targets.cached {
				ledger.Note(method.PhaseFunction, "the public model's top-k predictions were computed once for this recovery text and reused (their measured time is booked)")
			}
		}
		if err := ledger.Time(method.PhaseFunction, method.Client, func() error {
			for i := range uploads {
				b := smp.Batch(public.Preset.BatchSize)
				u := &Upload{Batch: b, K: cfg.KDTopK}
				if targets != nil {
					u.KDIDs, u.KDProbs = append([]int32(nil), targets.IDs[i]...), targets.Probs[i]
					for j, id := range u.KDIDs {
						u.KDIDs[j] = client.Pi(id)
					}
				}
				b.MapIDs(client.Pi)
				uploads[i] = u
			}
			return nil
		}); err != nil {
			return nil, nil, err
		}
		if cfg.FunctionParty == method.Cloud {
			for _, u := range uploads {
				ledger.Send(method.PhaseFunction, method.Client, u.Bytes())
			}
			if cfg.BiasParty == method.Client {
				imp.PiExposed = true
				ledger.Send(method.PhaseFunction, method.Client, int64(V)*4)
				ledger.Note(method.PhaseFunction, "the client sent the π-permuted public output bias: its values match the public bias one for one, so the cloud learns π")
			}
		}
		var curve []float64
		measuring = 0 // only the measurements inside the function-recovery block are taken off its time
		if err := ledger.Time(method.PhaseFunction, cfg.FunctionParty, func() error {
			var start []float32
			if cfg.BiasParty == method.Client {
				publicBias := public.MLMBias()
				if publicBias == nil { // a model whose masked-LM head never ran: its bias is the zero initial value
					publicBias = make([]float32, V)
				}
				start = client.PermuteVocabVector(publicBias)
			} else {
				start = UnigramBias(uploads, V)
			}
			if err := shaken.SetMLMBias(start); err != nil {
				return err
			}
			if cfg.BiasPasses > 0 && cfg.BiasParty == method.Cloud {
				gisCurve, err := FitOutputBiasGIS(ctx, shaken, uploads, cfg.KDWeight,
					GISConfig{Passes: cfg.BiasPasses, Rows: cfg.BiasRows, Smoothing: cfg.BiasSmoothing})
				if err != nil {
					return err
				}
				for i, l := range gisCurve {
					imp.Curve = append(imp.Curve, method.CurvePoint{Phase: "output-bias-scaling", Step: i, Loss: l})
				}
				if err := stageLoss("mlm_loss_after_bias_scaling", shaken); err != nil {
					return err
				}
			}
			if cfg.BiasSteps > 0 {
				biasCurve, err := FitOutputBias(ctx, shaken, uploads, cfg.KDWeight,
					StepConfig{Steps: cfg.BiasSteps, LearningRate: cfg.BiasLR, Progress: env.Progress, Label: "output-bias fit"})
				if err != nil {
					return err
				}
				for i, l := range biasCurve {
					imp.Curve = append(imp.Curve, method.CurvePoint{Phase: "output-bias-fit", Step: i + 1, Loss: l})
				}
				if err := stageLoss("mlm_loss_after_bias_fit", shaken); err != nil {
					return err
				}
			}
			if cfg.RecoveryTable && cfg.TableSteps > 0 {
				tableCurve, err := FitTable(ctx, shaken, uploads, cfg.KDWeight,
					StepConfig{Steps: cfg.TableSteps, LearningRate: cfg.TableLR, Progress: env.Progress, Label: "shaken-table fit"})
				if err != nil {
					return err
				}
				for i, l := range tableCurve {
					imp.Curve = append(imp.Curve, method.CurvePoint{Phase: "table-fit", Step: i + 1, Loss: l})
				}
				if err := stageLoss("mlm_loss_after_table_fit", shaken); err != nil {
					return err
				}
			}
			curve, err = Function(ctx, shaken, uploads, cfg.KDWeight, cfg.RecoveryTable,
				StepConfig{Steps: cfg.FunctionSteps, LearningRate: cfg.FunctionLR, Progress: env.Progress, Label: "function recovery"})
			return err
		}); err != nil {
			return nil, nil, err
		}
		// The stage measurements ran inside the timed block: they are the researcher's, not the party's.
		ledger.AddSeconds(method.PhaseFunction, cfg.FunctionParty, -measuring.Seconds())
		for i, l := range curve {
			imp.Curve = append(imp.Curve, method.CurvePoint{Phase: method.PhaseFunction, Step: i + 1, Loss: l})
		}
		ledger.Units(method.PhaseFunction, cfg.FunctionSteps, "steps")
		if cfg.FunctionParty == method.Client {
			if cfg.RecoveryTable {
				imp.Received = shaken.TokenTable()
			}
			// The client sends the whole recovered model instead of the recovery text.
			all, err := shaken.Weights()
			if err != nil {
				return nil, nil, err
			}
			ledger.Send(method.PhaseFunction, method.Client, all.Bytes())
		}
		if cfg.MLMEvalBatches > 0 {
			if imp.Extra["mlm_loss_recovered"], err = heldLoss(shaken, client.Pi); err != nil {
				return nil, nil, err
			}
		}
	} else if cfg.AwarenessSteps > 0 && cfg.MLMEvalBatches > 0 && public.MLMBias() != nil {
		probe, err := shaken.Clone(seed)
		if err != nil {
			return nil, nil, err
		}
		if err := probe.SetMLMBias(client.PermuteVocabVector(public.MLMBias())); err != nil {
			return nil, nil, err
		}
		if imp.Extra["mlm_loss_recovered"], err = heldLoss(probe, client.Pi); err != nil {
			return nil, nil, err
		}
	}
	imp.Costs = ledger.Costs()
	env.Log.Debug("key implanted", "extra", imp.Extra)
	return shaken, imp, nil
}

// teacherTargets are the public model's top-k masked-LM predictions (plaintext ids) on n recovery batches.
// They depend on the public model and the recovery text only — not on the key — so they are cached and shared
// by every key implanted with the same recovery text.
type teacherTargets struct {
	IDs     [][]int32
	Probs   [][]float32
	Seconds float64 // measured time to compute them (booked to the client on every use)
	cached  bool
}

func cachedTeacherTargets(ctx stdctx.Context, env method.Env, s *Setup, samplerSeed uint64, n, k int) (*teacherTargets, error) {
	public := s.Public
	recipe, _ := json.Marshal(struct {
		Format, Base string
		Seed         uint64
		N, K, T, B   int
		Pretrain     pretrain.Config
	}{"teacher/1", s.BasePath, samplerSeed, n, k, public.Preset.MaxLen, public.Preset.BatchSize, s.Pretrain})
	sum := sha256.Sum256(recipe)
	path := ""
	if s.BasePath != "" && env.CacheDir != "" {
		path = filepath.Join(env.CacheDir, "teacher", hex.EncodeToString(sum[:])[:16]+".gob")
		if f, err := os.Open(path); err == nil {
			var t teacherTargets
			err := gob.NewDecoder(f).Decode(&t)
			f.Close()
			if err == nil && len(t.IDs) == n {
				t.cached = true
				return &t, nil
			}
		}
	}
	corpus, err := pretrain.BuildCorpus(env.DataDir, env.Tok, s.Pretrain.PublicTasks)
	if err != nil {
		return nil, err
	}
	smp := pretrain.NewSampler(corpus, s.Pretrain, env.Tok, public.Preset.MaxLen, false, samplerSeed)
	teacher, err := NewTeacher(public, k)
	if err != nil {
		return nil, err
	}
	defer teacher.Finalize()
	t := &teacherTargets{IDs: make([][]int32, n), Probs: make([][]float32, n)}
	bar := newBar(StepConfig{Steps: n, Progress: env.Progress, Label: "public model's predictions for distillation (client)"})
	start := time.Now()
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if t.IDs[i], t.Probs[i], err = teacher.TopK(smp.Batch(public.Preset.BatchSize)); err != nil {
			return nil, err
		}
		bar.Add(1)
	}
	bar.Finish()
	t.Seconds = time.Since(start).Seconds()
	if path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("caching teacher predictions: %w", err)
		}
		if err := atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error { return gob.NewEncoder(w).Encode(t) }); err != nil {
			return nil, fmt.Errorf("caching teacher predictions: %w", err)
		}
	}
	return t, nil
}
