package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

func main() {
	recs, err := results.ReadExperiment(os.Args[1])
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Printf("%s %s %s seed=%d %v acc=%.4f eps=%.3g\n", r.RunID, r.Task, r.Method, r.Seed, r.Params, r.Metrics["accuracy"], r.Epsilon)
		keys := []string{}
		for k := range r.Extra { keys = append(keys, k) }
		sort.Strings(keys)
		for _, k := range keys { fmt.Printf("   %s=%.4g", k, r.Extra[k]) }
		fmt.Println()
		fmt.Printf("   tags=%v curve=", r.Tags)
		for _, c := range r.Curve { fmt.Printf(" %s:%d:%.4f", c.Phase, c.Step, c.Loss) }
		fmt.Println()
	}
}
