package experiments

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseShard reads "i/n": shard i (0-based, as Slurm's $SLURM_ARRAY_TASK_ID of --array=0-(n-1)) of n.
func ParseShard(s string) (index, count int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		index, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			count, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil || count < 1 || index < 0 || index >= count {
		return 0, 0, fmt.Errorf("shard %q: want i/n with 0 <= i < n, e.g. 0/4", s)
	}
	return index, count, nil
}

// Shard returns every count-th run starting at index: the shards 0..count-1 partition runs, and each shard's
// runs are the same whichever results already exist (a re-run or a retried array task gets the same share).
func Shard(runs []Run, index, count int) []Run {
	var out []Run
	for i := index; i < len(runs); i += count {
		out = append(out, runs[i])
	}
	return out
}
