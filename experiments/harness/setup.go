package harness

import (
	stdctx "context"
	"fmt"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/models/hf"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

// Setup is what every method starts from: the task data and the public base model.
type Setup struct {
	Data     *finetune.TaskData
	Public   *models.Model
	BasePath string // "" when the base model is untrained (pretrain = "none"); an import of a checkpoint (hf:DIR)
	Pretrain pretrain.Config
}

// NewSetup loads the run's data and the public base model (pre-training it, or taking it from the cache; with
// pretrain = "hf:DIR", importing the Hugging Face checkpoint in DIR, which must have the run's preset shape).
func NewSetup(ctx stdctx.Context, env method.Env, run method.Run) (*Setup, error) {
	data, err := finetune.LoadTaskData(env.DataDir, run.Task, run.MaxTrain, run.MaxEval, run.Seed)
	if err != nil {
		return nil, err
	}
	if data.Malformed > 0 {
		env.Log.Warn("malformed rows skipped", "task", run.Task, "rows", data.Malformed)
	}
	s := &Setup{Data: data, Pretrain: pretrain.DefaultConfig(run.Preset)}
	if dir, isHF, err := hf.ParseInit(run.Pretrain); err != nil {
		return nil, err
	} else if isHF {
		preset, err := models.LookupPreset(run.Preset)
		if err != nil {
			return nil, err
		}
		if s.BasePath, _, err = hf.Base(ctx, dir, hf.Tokens(env.Tok), &preset, env.CacheDir); err != nil {
			return nil, fmt.Errorf("base model from %s: %w", run.Pretrain, err)
		}
	} else if s.BasePath, _, err = pretrain.Base(ctx, env.DataDir, env.Tok, run.Preset, run.Pretrain,
		pretrain.Options{CacheDir: env.CacheDir, Progress: env.Progress}); err != nil {
		return nil, err
	}
	path := s.BasePath
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

// PublicCounts are the token counts of the public corpus (Brown and the public pools the base model was
// pre-trained on): the text statistics the honest-but-curious cloud has.
func PublicCounts(env method.Env, s *Setup) ([]int64, error) {
	corpus, err := pretrain.BuildCorpus(env.DataDir, env.Tok, s.Pretrain.PublicTasks)
	if err != nil {
		return nil, err
	}
	counts := make([]int64, env.Tok.VocabSize())
	for _, sent := range corpus.Sentences() {
		for _, id := range sent {
			counts[id]++
		}
	}
	return counts, nil
}

// FineTuneConfig is the fine-tuning configuration of a run: finetune.DefaultConfig with the run's epochs and
// learning rate where it sets them, its seed, and a progress bar labelled "<task> <what>" when progress is on.
func FineTuneConfig(run method.Run, progress bool, what string) finetune.Config {
	cfg := finetune.DefaultConfig()
	if run.Epochs > 0 {
		cfg.Epochs = run.Epochs
	}
	if run.LearningRate > 0 {
		cfg.LearningRate = run.LearningRate
	}
	cfg.Seed, cfg.Progress, cfg.Label = run.Seed, progress, fmt.Sprintf("%s %s", run.Task, what)
	return cfg
}

// PrepareTuning readies a model for fine-tuning: the encoder, pooler and head train; the token table trains only
// when tableTrainable.
func PrepareTuning(m *models.Model, tableTrainable bool) {
	m.SetTrainableScopes("/embeddings", "/encoder", "/pooler", "/task_head")
	m.SetTokenTableTrainable(tableTrainable)
}

// EncodedBytes is what uploading e costs: int32 ids, one byte per segment id and per mask flag, and a 4-byte
// label per example.
func EncodedBytes(e *finetune.Encoded) int64 {
	return int64(e.N)*int64(e.T)*(4+1+1) + int64(e.N)*4
}
