package experiments

import (
	"context"
	"fmt"
	"slices"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

// PretrainPresets lists, in first-use order, the presets whose runs start from the default pre-trained base.
func PretrainPresets(runs []Run) []string {
	var presets []string
	for _, r := range runs {
		if r.Pretrain == PretrainDefault && !slices.Contains(presets, r.Preset) {
			presets = append(presets, r.Preset)
		}
	}
	return presets
}

// PretrainBases returns a Runner.Prepare that pre-trains (or finds in env.CacheDir) the default base model of
// every preset the runs need, once, before they start: methods then load it from the cache
// (method.Run.Pretrain "default" = pretrain.DefaultConfig(preset)).
func PretrainBases(env method.Env) func(ctx context.Context, runs []Run) error {
	return func(ctx context.Context, runs []Run) error {
		for _, preset := range PretrainPresets(runs) {
			res, err := pretrain.Run(ctx, env.DataDir, env.Tok, pretrain.DefaultConfig(preset),
				pretrain.Options{CacheDir: env.CacheDir, Progress: env.Progress})
			if err != nil {
				return fmt.Errorf("pre-training the %s base model: %w", preset, err)
			}
			if env.Log != nil {
				env.Log.Info("base model ready", "preset", preset, "path", res.Path, "cached", res.Cached)
			}
		}
		return nil
	}
}
