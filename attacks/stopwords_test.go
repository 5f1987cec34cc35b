package attacks

import (
	"testing"

	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
)

func TestStopWordsAreNLTKEnglish(t *testing.T) {
	words := StopWords()
	if len(words) != 179 {
		t.Errorf("%d stop words, NLTK's English list has 179", len(words))
	}
	for i := 1; i < len(words); i++ {
		if words[i] == words[i-1] {
			t.Errorf("duplicate stop word %q", words[i])
		}
	}
}

func TestIsContentToken(t *testing.T) {
	for tok, want := range map[string]bool{
		"movie": true, "Paris": true, "café": true,
		"the": false, "The": false, "don": false, "t": false, "not": false,
		"##ing": false, "##ville": false, ",": false, "1990": false, "3d": false, "[CLS]": false, "[unused0]": false, "": false,
	} {
		if got := IsContentToken(tok); got != want {
			t.Errorf("IsContentToken(%q) = %v, want %v", tok, got, want)
		}
	}
}

func TestContentMaskOnBertVocabulary(t *testing.T) {
	_, tok := testkit.Tokenizer(t)
	mask := ContentMask(tok)
	if len(mask) != tok.VocabSize() {
		t.Fatalf("mask has %d entries for %d tokens", len(mask), tok.VocabSize())
	}
	for token, want := range map[string]bool{"film": true, "the": false, "[CLS]": false, ".": false, "##s": false} {
		id, ok := tok.ID(token)
		if !ok {
			t.Fatalf("%q not in the vocabulary", token)
		}
		if mask[id] != want {
			t.Errorf("content[%q] = %v, want %v", token, mask[id], want)
		}
	}
	n := 0
	for _, c := range mask {
		if c {
			n++
		}
	}
	// About two thirds of bert-base-uncased are whole alphabetic words; the rest are ## pieces, [unused],
	// punctuation, digits and foreign scripts' characters (letters, so counted).
	if n < 15000 || n > 25000 {
		t.Errorf("%d content tokens of %d, want roughly two thirds", n, len(mask))
	}
}
