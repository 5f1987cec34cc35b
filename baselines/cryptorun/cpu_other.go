//go:build !unix

package cryptorun

// CPUSeconds is the process's CPU time so far; NaN on this platform.
func CPUSeconds() float64 { return nan() }
