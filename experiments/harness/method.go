package harness

import (
	stdctx "context"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// Method is a method.Method made of a parameter decoder and a protocol over the shared Setup: the runner-facing
// part every method shares. Validate decodes the parameters; Run decodes them, prepares the Setup and runs the
// protocol.
type Method[C any] struct {
	MethodName string
	Decode     func(params map[string]any) (C, error)
	Protocol   func(ctx stdctx.Context, env method.Env, run method.Run, s *Setup, cfg C) (*method.Result, error)
}

// Name implements method.Method.
func (m Method[C]) Name() string { return m.MethodName }

// Validate implements method.Method.
func (m Method[C]) Validate(params map[string]any) error {
	_, err := m.Decode(params)
	return err
}

// Run implements method.Method.
func (m Method[C]) Run(ctx stdctx.Context, env method.Env, run method.Run) (*method.Result, error) {
	cfg, err := m.Decode(run.Params)
	if err != nil {
		return nil, err
	}
	s, err := NewSetup(ctx, env, run)
	if err != nil {
		return nil, err
	}
	return m.Protocol(ctx, env, run, s, cfg)
}
