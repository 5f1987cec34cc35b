// Command gen writes experiments/specs/durations.json from the committed run records (measurements/<experiment>/
// runs/*.parquet): for each embedded spec with records, the number of runs, their total duration and the git
// commits they were made from. Run it with `go generate ./experiments/specs`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cyphertalk/cyphertalk-go/experiments/specs"
)

func main() {
	dir := flag.String("measurements", "measurements", "directory holding <experiment>/runs/*.parquet")
	out := flag.String("out", specs.DurationsFile, "file to write")
	flag.Parse()
	data, err := specs.Generate(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
