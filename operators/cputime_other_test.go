//go:build !unix

package operators

import "time"

// processCPU is not measured here; benchmarks then report wall-clock MB/s only.
func processCPU() time.Duration { return 0 }
