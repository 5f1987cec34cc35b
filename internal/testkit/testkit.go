// Package testkit holds the fixtures that tests across the project share: the real vocabulary's tokenizer and
// small untrained models. It sits apart from internal/testdata, which the datasets packages' own tests import.
package testkit

import (
	"testing"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/internal/testdata"
	"github.com/cyphertalk/cyphertalk-go/models"
)

// Tokenizer returns the data directory and the bert-base-uncased tokenizer, or skips the test when there is no
// data directory — fails it when $CI is set (see testdata.DirOrSkip).
func Tokenizer(tb testing.TB) (string, *wordpiece.Tokenizer) {
	tb.Helper()
	dir := testdata.DirOrSkip(tb)
	tok, err := wordpiece.Load(datasets.VocabPath(dir))
	if err != nil {
		tb.Fatal(err)
	}
	return dir, tok
}

// NanoModel is an untrained model of the nano preset over a vocabulary of V ids.
func NanoModel(tb testing.TB, V int, seed uint64) *models.Model {
	tb.Helper()
	p, err := models.LookupPreset("nano")
	if err != nil {
		tb.Fatal(err)
	}
	m, err := models.New(p, V, seed)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
