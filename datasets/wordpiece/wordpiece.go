// Package wordpiece is a BERT WordPiece tokenizer for uncased vocabularies
// such as bert-base-uncased's vocab.txt (one token a line, id = line index).
//
// It is written by hand because no well-kept Go WordPiece library is served
// by the Go module proxy, and the project depends on nothing beyond the
// standard library here (golang.org/x/text is not a dependency of the module,
// so the Unicode normalisation it needs is built in; see below).
//
// It reproduces google-research/bert tokenization.py — BasicTokenizer
// followed by WordpieceTokenizer, with do_lower_case=True — which is what
// HuggingFace's (slow) BertTokenizer does for bert-base-uncased:
//
//   - clean text: code points 0 and U+FFFD and control characters (Unicode
//     categories Cc and Cf) are dropped; \t, \n, \r and Zs characters become
//     spaces;
//   - every CJK character (the code point ranges of tokenization.py's
//     _is_chinese_char) is surrounded by spaces;
//   - the text is split on whitespace (as Python's str.split, which also
//     splits on U+2028 and U+2029), each word is lower-cased (str.lower,
//     including the final-sigma rule), accents are stripped (NFD, then every
//     Mn character dropped), and the word is split on punctuation (ASCII
//     33-47, 58-64, 91-96, 123-126 and the Unicode P* categories);
//   - each piece is split into wordpieces greedily, longest match first,
//     continuation pieces prefixed with "##"; a piece longer than 100
//     characters, or one that cannot be covered by vocabulary entries,
//     becomes a single [UNK].
//
// Encode lays out [CLS] a [SEP] (b [SEP]) with BERT's run_classifier.py
// conventions: longest-first truncation of a pair (_truncate_seq_pair),
// segment ids 0/1, attention mask, padding with [PAD].
//
// Limitations, all in rarely seen text:
//   - NFD comes from a generated table (nfd_table.go, built by gen_nfd.py
//     from Python's unicodedata, Unicode 14.0) holding, for each code point
//     with a canonical decomposition, that decomposition with Mn marks
//     removed; Hangul syllables are decomposed algorithmically. The other
//     character classes come from Go's unicode package (Unicode 15.0), so
//     characters whose properties changed between versions may differ from a
//     given Python. Canonical reordering is not performed: it can only matter
//     for combining marks that are not Mn (a few Mc characters) and appear in
//     an unusual order.
//   - Lower-casing uses Go's simple case mapping; the only full (multi-rune)
//     lower-case mapping, U+0130 → "i̇", ends as "i" either way once the dot
//     is stripped.
//   - As in tokenization.py (and unlike HuggingFace, which also drops
//     private-use and unassigned code points, and keeps special tokens such
//     as "[CLS]" written in the text whole), only Cc and Cf are removed and
//     "[CLS]" in the text is split like any other text. The 100-character
//     word limit is HuggingFace's; tokenization.py's default is 200.
//
// A Tokenizer is immutable after Load and safe for concurrent use.
package wordpiece

//go:generate python3 gen_nfd.py

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// Special token texts that every vocabulary must contain.
const (
	PadToken  = "[PAD]"
	UnkToken  = "[UNK]"
	ClsToken  = "[CLS]"
	SepToken  = "[SEP]"
	MaskToken = "[MASK]"
)

// MaxInputCharsPerWord is the longest word (in characters, after basic
// tokenization) that is split into wordpieces; longer words become [UNK].
const MaxInputCharsPerWord = 100

// Tokenizer turns text into bert-base-uncased style wordpiece ids.
type Tokenizer struct {
	vocab  map[string]int32 // token text -> id (the last line wins for duplicates, as in Python)
	tokens []string         // id -> token text

	pad, unk, cls, sep, mask int32

	maxPiece int        // longest vocabulary entry, bytes
	maxCont  int        // longest "##" entry without its "##", bytes
	ascii    [256]int32 // id of each one-byte entry, or -1

	fingerprint string

	pool sync.Pool // *scratch
}

// Load reads a vocabulary file, one token a line; a token's id is its line
// index (0-based). A trailing "\r" on a line is ignored. The file must
// contain [PAD], [UNK], [CLS], [SEP] and [MASK].
func Load(vocabPath string) (*Tokenizer, error) {
	data, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("wordpiece: load vocabulary %s: %w", vocabPath, err)
	}
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("wordpiece: load vocabulary %s: %w", vocabPath, err)
	}
	return t, nil
}

func parse(data []byte) (*Tokenizer, error) {
	sum := sha256.Sum256(data)
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("empty vocabulary")
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("vocabulary has %d entries, more than int32 ids allow", n)
	}
	t := &Tokenizer{
		vocab:       make(map[string]int32, n),
		tokens:      make([]string, 0, n),
		fingerprint: hex.EncodeToString(sum[:]),
	}
	// One string for the whole file; tokens are substrings of it.
	text := string(data)
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		id := int32(len(t.tokens))
		t.tokens = append(t.tokens, line)
		t.vocab[line] = id
		t.maxPiece = max(t.maxPiece, len(line))
		if strings.HasPrefix(line, "##") {
			t.maxCont = max(t.maxCont, len(line)-2)
		}
	}
	var missing []string
	for _, s := range []struct {
		tok string
		id  *int32
	}{{PadToken, &t.pad}, {UnkToken, &t.unk}, {ClsToken, &t.cls}, {SepToken, &t.sep}, {MaskToken, &t.mask}} {
		id, ok := t.vocab[s.tok]
		if !ok {
			missing = append(missing, s.tok)
			continue
		}
		*s.id = id
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("not a BERT vocabulary: missing special tokens %v", missing)
	}
	for b := range t.ascii {
		t.ascii[b] = -1
		if id, ok := t.vocab[string(rune(b))]; ok && b < utf8.RuneSelf {
			t.ascii[b] = id
		}
	}
	t.pool.New = func() any { return new(scratch) }
	return t, nil
}

// VocabSize is the number of lines (ids) in the vocabulary.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Fingerprint is the hex SHA-256 of the vocabulary file's bytes.
func (t *Tokenizer) Fingerprint() string { return t.fingerprint }

// Token returns the text of id, or the [UNK] token's text when id is out of
// range (as HuggingFace's convert_ids_to_tokens does).
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return t.tokens[t.unk]
	}
	return t.tokens[id]
}

// ID returns the id of a vocabulary entry, exactly as written (no
// normalisation); ok is false when token is not in the vocabulary.
func (t *Tokenizer) ID(token string) (id int32, ok bool) {
	id, ok = t.vocab[token]
	return id, ok
}

// PadID is the id of [PAD].
func (t *Tokenizer) PadID() int32 { return t.pad }

// UnkID is the id of [UNK].
func (t *Tokenizer) UnkID() int32 { return t.unk }

// ClsID is the id of [CLS].
func (t *Tokenizer) ClsID() int32 { return t.cls }

// SepID is the id of [SEP].
func (t *Tokenizer) SepID() int32 { return t.sep }

// MaskID is the id of [MASK].
func (t *Tokenizer) MaskID() int32 { return t.mask }

// SpecialIDs returns, in a new slice, the ids of [PAD], [UNK], [CLS], [SEP]
// and [MASK], in that order.
func (t *Tokenizer) SpecialIDs() []int32 {
	return []int32{t.pad, t.unk, t.cls, t.sep, t.mask}
}

// Tokens returns the wordpieces of text (no special tokens added). The
// strings are the vocabulary's own; words that cannot be split give [UNK].
func (t *Tokenizer) Tokens(text string) []string {
	ids := t.IDs(text)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = t.tokens[id]
	}
	return out
}

// IDs returns the ids of Tokens(text), without special tokens.
func (t *Tokenizer) IDs(text string) []int32 {
	return t.AppendIDs(make([]int32, 0, len(text)/4+4), text)
}

// AppendIDs appends the ids of Tokens(text) to dst and returns the extended
// slice; it allocates nothing when dst has room.
func (t *Tokenizer) AppendIDs(dst []int32, text string) []int32 {
	s := t.pool.Get().(*scratch)
	dst = t.appendIDs(dst, text, s)
	t.pool.Put(s)
	return dst
}
