//go:build unix

package cryptorun

import "syscall"

// CPUSeconds is the process's user + system CPU time so far (NaN where it cannot be read). Differences of it
// measure work independently of how busy the machine's other processes keep the cores.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return nan()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
