package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
)

func newTokenizeCmd(g *globals) *cobra.Command {
	var vocab string
	var maxLen int
	var tokens bool
	cmd := &cobra.Command{
		Use:   "tokenize TEXT [TEXT_B]",
		Short: "Print the WordPiece ids of a text (or a pair, laid out [CLS] a [SEP] b [SEP]), one line, space-separated",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := vocab
			if path == "" {
				dir, err := datasets.ResolveDataDir(g.dataDir)
				if err != nil {
					return err
				}
				path = datasets.VocabPath(dir)
			}
			tok, err := wordpiece.Load(path)
			if err != nil {
				return err
			}
			var ids []int32
			if len(args) == 2 || maxLen > 0 {
				b := ""
				if len(args) == 2 {
					b = args[1]
				}
				n := maxLen
				if n <= 0 {
					n = len(tok.IDs(args[0])) + len(tok.IDs(b)) + 3
				}
				enc := tok.Encode(args[0], b, n)
				ids = enc.IDs
			} else {
				ids = tok.IDs(args[0])
			}
			parts := make([]string, len(ids))
			for i, id := range ids {
				if tokens {
					parts[i] = tok.Token(id)
				} else {
					parts[i] = fmt.Sprint(id)
				}
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.Join(parts, " "))
			return nil
		},
	}
	cmd.Flags().StringVar(&vocab, "vocab", "", "vocab.txt (default: the data directory's bert-base-uncased vocabulary)")
	cmd.Flags().IntVar(&maxLen, "max-len", 0, "encode with specials and pad/truncate to this length")
	cmd.Flags().BoolVar(&tokens, "tokens", false, "print word pieces instead of ids")
	return cmd
}
