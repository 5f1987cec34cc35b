//go:build xla

package backend

// Built with `-tags xla` (cgo on), the XLA/PJRT backend is registered too. Point it at a PJRT plugin, e.g.
// GOMLX_BACKEND=xla:/abs/path/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so with
// GOMLX_NO_AUTO_INSTALL=1 and XLA_FLAGS=--xla_gpu_cuda_data_dir=<site-packages>/nvidia/cu13 (docs/design.md §8).
import _ "github.com/gomlx/gomlx/backends/xla"
