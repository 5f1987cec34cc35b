// Package pretrain owns the public base model: the public corpus (Brown + the public pools of GLUE train splits,
// docs/design.md §4), the token-table initialisation from that corpus (PPMI-SVD, models/embedinit), masked-LM
// pre-training (15% of tokens, 80/10/10) with a sentence-pair objective, the held-out MLM loss, and a cache of
// finished checkpoints keyed by a hash of everything that determines them.
package pretrain

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
)

// Corpus is the tokenised public pre-training text.
type Corpus struct {
	// Documents are streams of consecutive sentences (Brown: the whole corpus in order); consecutive entries form
	// "next sentence" pairs.
	Documents [][][]int32
	// Pairs are naturally paired texts (QQP public pool: question1, question2).
	Pairs [][2][]int32
	// Singles are standalone texts (SST-2 public pool phrases, single-sentence tasks).
	Singles [][]int32
	// Checksum is the SHA-256 of every token id in order: the corpus identity recorded with a checkpoint.
	Checksum string
	Tokens   int
	Sources  []string
}

// BuildCorpus tokenises Brown and the public pools of the named tasks' train splits.
func BuildCorpus(dataDir string, tok *wordpiece.Tokenizer, publicTasks []string) (*Corpus, error) {
	c := &Corpus{}
	brown := datasets.CorpusPath(dataDir)
	f, err := os.Open(brown)
	if err != nil {
		return nil, fmt.Errorf("public corpus: %w (expected the Brown corpus at %s; `cyphertalk data fetch` downloads it)", err, brown)
	}
	var doc [][]int32
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if ids := tok.IDs(line); len(ids) > 0 {
			doc = append(doc, ids)
		}
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", brown, err)
	}
	c.Documents = append(c.Documents, doc)
	c.Sources = append(c.Sources, fmt.Sprintf("brown (%d sentences)", len(doc)))
	for _, task := range publicTasks {
		info, err := datasets.Task(task)
		if err != nil {
			return nil, err
		}
		set, err := datasets.Load(dataDir, task, "train")
		if err != nil {
			return nil, fmt.Errorf("public pool of %s: %w", task, err)
		}
		_, public := datasets.Pools(set.Examples)
		for _, ex := range public {
			a := tok.IDs(ex.TextA)
			if info.Pair {
				c.Pairs = append(c.Pairs, [2][]int32{a, tok.IDs(ex.TextB)})
			} else if len(a) > 0 {
				c.Singles = append(c.Singles, a)
			}
		}
		c.Sources = append(c.Sources, fmt.Sprintf("%s public pool (%d of %d train examples)", task, len(public), len(set.Examples)))
	}
	c.Checksum, c.Tokens = c.checksum()
	slog.Info("public corpus ready", "sources", c.Sources, "tokens", c.Tokens, "checksum", c.Checksum[:12])
	return c, nil
}

// all is the whole corpus as one view (documents flattened in order).
func (c *Corpus) all() view {
	v := view{pairs: c.Pairs, singles: c.Singles}
	for _, d := range c.Documents {
		v.doc = append(v.doc, d...)
	}
	return v
}

func (c *Corpus) checksum() (string, int) {
	h := sha256.New()
	n := 0
	var buf [4]byte
	c.all().eachUnit(func(ids []int32) {
		for _, id := range ids {
			binary.LittleEndian.PutUint32(buf[:], uint32(id))
			h.Write(buf[:])
		}
		n += len(ids)
		h.Write([]byte{0xff, 0xff, 0xff, 0xff})
	})
	return hex.EncodeToString(h.Sum(nil)), n
}

// Sentences lists every text unit (for co-occurrence statistics).
func (c *Corpus) Sentences() [][]int32 {
	var out [][]int32
	c.all().eachUnit(func(s []int32) { out = append(out, s) })
	return out
}
