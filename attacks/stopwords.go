package attacks

import (
	"slices"
	"strings"
	"unicode"

	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
)

// stopWords is the English stop list of NLTK (nltk_data corpora/stopwords/english, the 179-word list shipped
// since NLTK 3.4), lower-case. The entries with an apostrophe never equal a bert-base-uncased piece (the
// tokenizer splits "don't" into "don", "'", "t", whose word pieces are on the list themselves); they are kept so
// that the list is NLTK's, unchanged.
var stopWords = []string{
	"i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "you're", "you've", "you'll", "you'd",
	"your", "yours", "yourself", "yourselves", "he", "him", "his", "himself", "she", "she's", "her", "hers",
	"herself", "it", "it's", "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which",
	"who", "whom", "this", "that", "that'll", "these", "those", "am", "is", "are", "was", "were", "be", "been",
	"being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an", "the", "and", "but", "if",
	"or", "because", "as", "until", "while", "of", "at", "by", "for", "with", "about", "against", "between",
	"into", "through", "during", "before", "after", "above", "below", "to", "from", "up", "down", "in", "out",
	"on", "off", "over", "under", "again", "further", "then", "once", "here", "there", "when", "where", "why",
	"how", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "no", "nor", "not",
	"only", "own", "same", "so", "than", "too", "very", "s", "t", "can", "will", "just", "don", "don't",
	"should", "should've", "now", "d", "ll", "m", "o", "re", "ve", "y", "ain", "aren", "aren't", "couldn",
	"couldn't", "didn", "didn't", "doesn", "doesn't", "hadn", "hadn't", "hasn", "hasn't", "haven", "haven't",
	"isn", "isn't", "ma", "mightn", "mightn't", "mustn", "mustn't", "needn", "needn't", "shan", "shan't",
	"shouldn", "shouldn't", "wasn", "wasn't", "weren", "weren't", "won", "won't", "wouldn", "wouldn't",
}

// StopWords returns the stop list (NLTK's English list), sorted.
func StopWords() []string {
	out := slices.Clone(stopWords)
	slices.Sort(out)
	return out
}

// IsContentToken says whether a WordPiece token counts as a content word for the content-word recovery rate:
// a whole-word piece (not a "##" continuation), made only of letters, and not a stop word (case-insensitive).
//
// Decisions: punctuation, digits and mixed tokens ("1990", "3d") are not content; special and unused tokens
// ("[CLS]", "[unused0]") are not letters and so not content; continuation pieces ("##ing", "##ville") are not
// content even when alphabetic, because a recovered fragment does not by itself reveal a word — their recovery
// still counts in the all-token rate.
func IsContentToken(token string) bool {
	if token == "" || strings.HasPrefix(token, "##") {
		return false
	}
	for _, r := range token {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	_, stop := slices.BinarySearch(sortedStopWords, strings.ToLower(token))
	return !stop
}

var sortedStopWords = StopWords()

// ContentMask returns, for every id of the tokenizer's vocabulary, whether its token is a content word
// (IsContentToken).
func ContentMask(tok *wordpiece.Tokenizer) []bool {
	m := make([]bool, tok.VocabSize())
	for id := range m {
		m[id] = IsContentToken(tok.Token(int32(id)))
	}
	return m
}
