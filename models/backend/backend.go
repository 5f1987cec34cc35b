// Package backend owns the gomlx set-up that every binary and test of the project shares: which backend runs
// the graphs (gomlx's pure-Go "go" backend by default, configured with the settings measured to be safe and
// fastest on small CPU machines; XLA/PJRT only in builds with the `xla` tag), and the gradient workaround
// for gomlx v0.26.0 (see fastgrad.go). Importing this package installs the workaround.
package backend

import (
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the pure-Go backend, always available
)

// DefaultConfig is the backend configuration used when $GOMLX_BACKEND is unset.
//
// "parallelism=-1" avoids the SimpleGo worker-pool deadlock of v0.26.0 (nested WaitToStart in a pool of
// 2×NumCPU slots) and was the fastest setting measured; "dotgeneral_large" picks the blocked matmul kernel.
// `cyphertalk bench` measures the alternatives side by side.
const DefaultConfig = "go:parallelism=-1,dotgeneral_large"

// EnvVar names the environment variable that overrides DefaultConfig (gomlx's own).
const EnvVar = "GOMLX_BACKEND"

var (
	shared     backends.Backend
	sharedErr  error
	sharedOnce sync.Once
)

// Config returns the backend configuration in effect: $GOMLX_BACKEND if set, else DefaultConfig.
func Config() string {
	if c := os.Getenv(EnvVar); c != "" {
		return c
	}
	return DefaultConfig
}

// New builds a backend from a configuration string such as "go:parallelism=-1,dotgeneral_large".
// The plain "go" configuration without parallelism settings deadlocks during training in v0.26.0,
// so it is refused unless "ops_sequential" is given.
func New(config string) (backends.Backend, error) {
	if config == "go" {
		return nil, fmt.Errorf("backend config %q deadlocks in gomlx v0.26.0 training; use %q or \"go:ops_sequential\"", config, DefaultConfig)
	}
	b, err := backends.NewWithConfig(config)
	if err != nil {
		return nil, fmt.Errorf("creating gomlx backend %q (registered: %v): %w", config, backends.List(), err)
	}
	return b, nil
}

// Shared returns the process-wide backend built from Config(), creating it on first use.
// A backend owns worker pools and device memory, so one per process is the rule.
func Shared() (backends.Backend, error) {
	sharedOnce.Do(func() {
		shared, sharedErr = New(Config())
		if sharedErr == nil {
			slog.Debug("gomlx backend ready", "config", Config(), "description", shared.Description())
		}
	})
	return shared, sharedErr
}
