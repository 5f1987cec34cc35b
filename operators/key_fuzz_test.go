package operators

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzLoadKey feeds arbitrary bytes to the key-file parser behind LoadKey. It must never panic, and a key that
// loads must re-save (the bytes Save writes) and load again to the same canonical bytes and fingerprint. The
// vocabulary size asked for is the file's own vocab_size where it has one, so the fuzzer gets past that check.
// The file system part of LoadKey and Save (mode checks, atomic writes) is TestKeyFile's; fsync per input would
// make fuzzing crawl. The committed corpus (testdata/fuzz/FuzzLoadKey) holds saved key files, hand-written ones
// without a fingerprint and broken ones.
func FuzzLoadKey(f *testing.F) {
	k, err := NewKey(SeedFromUint64(7), KeyOptions{VocabSize: BertVocabSize, Dim: 768, Special: BertSpecialIDs,
		Horizontal: true, Chain: []OpSpec{{Op: "gaussian", Params: map[string]float64{"sigma": 0.5}}}})
	if err != nil {
		f.Fatal(err)
	}
	saved, err := k.fileBytes()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(saved)
	f.Fuzz(func(t *testing.T, data []byte) {
		vocab := BertVocabSize
		var head struct {
			VocabSize *int `json:"vocab_size"`
		}
		if json.Unmarshal(data, &head) == nil && head.VocabSize != nil {
			vocab = *head.VocabSize
		}
		key, err := parseKeyFile(data, vocab)
		if err != nil {
			return
		}
		if err := key.Validate(); err != nil {
			t.Fatalf("a loaded key does not validate: %v", err)
		}
		fp := key.Fingerprint()
		resaved, err := key.fileBytes()
		if err != nil {
			t.Fatalf("a loaded key does not save: %v", err)
		}
		again, err := parseKeyFile(resaved, vocab)
		if err != nil {
			t.Fatalf("a loaded key, saved, does not load again: %v\n%s", err, resaved)
		}
		if again.Fingerprint() != fp || !bytes.Equal(again.CanonicalBytes(), key.CanonicalBytes()) {
			t.Fatalf("a loaded key, saved and loaded again, changed: fingerprint %s then %s", fp, again.Fingerprint())
		}
		if again2, _ := again.fileBytes(); !bytes.Equal(again2, resaved) {
			t.Fatalf("saving is not stable:\n%s\n%s", resaved, again2)
		}
	})
}
