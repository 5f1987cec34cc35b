package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/hf"
)

func newExportHFCmd(g *globals) *cobra.Command {
	var weights, out, vocab string
	cmd := &cobra.Command{
		Use:   "export-hf --weights FILE --out DIR",
		Short: "Write a model weight file as a Hugging Face BERT checkpoint (config.json, model.safetensors, vocab.txt)",
		Long: `Writes the model in a weight file (a pre-trained base in the cache, a fine-tuned or recovered model) as a
checkpoint that the transformers library loads: BertForMaskedLM tensor names when the model has a masked-LM head,
plus classifier.* when it has a task head (BertForSequenceClassification), BertModel names when it has neither.
vocab.txt is the project's vocabulary (--vocab, else the data directory's). Each file is written atomically.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if weights == "" || out == "" {
				return fmt.Errorf("--weights and --out are required")
			}
			var tok *wordpiece.Tokenizer
			var err error
			if vocab != "" { // no data directory needed
				tok, err = wordpiece.Load(vocab)
			} else {
				_, tok, err = g.dataAndTokenizer("")
			}
			if err != nil {
				return err
			}
			m, _, err := models.Load(weights, 1)
			if err != nil {
				return err
			}
			if m.VocabSize != tok.VocabSize() {
				return fmt.Errorf("%s has a %d-token vocabulary, the tokenizer %d: pass the model's vocabulary with --vocab", weights, m.VocabSize, tok.VocabSize())
			}
			if err := hf.Export(m, out, hf.Tokens(tok)); err != nil {
				return fmt.Errorf("exporting %s: %w", weights, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s): %s, %s, %s\n", out, m.Preset, hf.ConfigFile, hf.WeightsFile, hf.VocabFile)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&weights, "weights", "", "model weight file to export")
	f.StringVar(&out, "out", "", "directory to write the checkpoint into (created if missing)")
	f.StringVar(&vocab, "vocab", "", "vocabulary file (default: the data directory's bert-base-uncased vocab.txt)")
	return cmd
}
