package wordpiece

import (
	"bufio"
	"encoding/json"
	"errors"
	"github.com/cyphertalk/cyphertalk-go/internal/testdata"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

const vocabRel = "vocab/bert-base-uncased/vocab.txt"

// bert-base-uncased vocab.txt, as listed in the shared data's SHA256SUMS.
const bertUncasedSHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"

var (
	bertOnce sync.Once
	bertTok  *Tokenizer
	bertErr  error
)

// bert loads bert-base-uncased once, skipping the test when the vocabulary
// file is absent (failing it under $CI: see testdata.DirOrSkip).
func bert(t testing.TB) *Tokenizer {
	t.Helper()
	p := testdata.FileOrSkip(t, vocabRel)
	bertOnce.Do(func() { bertTok, bertErr = Load(p) })
	if bertErr != nil {
		t.Fatal(bertErr)
	}
	return bertTok
}

func TestLoadBertBaseUncased(t *testing.T) {
	tk := bert(t)
	if got := tk.VocabSize(); got != 30522 {
		t.Errorf("VocabSize = %d, want 30522", got)
	}
	if got := tk.Fingerprint(); got != bertUncasedSHA256 {
		t.Errorf("Fingerprint = %s, want %s", got, bertUncasedSHA256)
	}
	got := []int32{tk.PadID(), tk.UnkID(), tk.ClsID(), tk.SepID(), tk.MaskID()}
	if want := []int32{0, 100, 101, 102, 103}; !reflect.DeepEqual(got, want) {
		t.Errorf("special ids = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(tk.SpecialIDs(), got) {
		t.Errorf("SpecialIDs = %v, want %v", tk.SpecialIDs(), got)
	}
	for _, c := range []struct {
		id  int32
		tok string
	}{{0, "[PAD]"}, {100, "[UNK]"}, {101, "[CLS]"}, {102, "[SEP]"}, {103, "[MASK]"},
		{7592, "hello"}, {2015, "##s"}, {999, "!"}, {1746, "中"}, {30521, "##～"}} {
		if got := tk.Token(c.id); got != c.tok {
			t.Errorf("Token(%d) = %q, want %q", c.id, got, c.tok)
		}
		if id, ok := tk.ID(c.tok); !ok || id != c.id {
			t.Errorf("ID(%q) = %d, %v, want %d", c.tok, id, ok, c.id)
		}
	}
	if id, ok := tk.ID("Hello"); ok {
		t.Errorf("ID(Hello) = %d, true; want not found (no normalisation)", id)
	}
	if got := tk.Token(-1); got != "[UNK]" {
		t.Errorf("Token(-1) = %q", got)
	}
	if got := tk.Token(30522); got != "[UNK]" {
		t.Errorf("Token(30522) = %q", got)
	}
}

func TestIDs(t *testing.T) {
	tk := bert(t)
	// Expected ids read from vocab.txt (id = line number - 1) and checked
	// against google-research/bert tokenization.py.
	cases := []struct {
		name, text string
		want       []int32
	}{
		{"plain", "why are hispanics", []int32{2339, 2024, 6696, 2015}},
		{"case and punctuation", "Hello, World!", []int32{7592, 1010, 2088, 999}},
		{"accent", "Héllo", []int32{7592}},
		{"accents upper", "HÉLLO naïve Café", []int32{7592, 15743, 7668}},
		{"ligature kept", "une œuvre", []int32{16655, 1107, 2226, 12229}},
		{"cjk", "中国", []int32{1746, 1799}},
		{"cjk inside word", "ab中国cd", []int32{11113, 1746, 1799, 3729}},
		{"controls dropped", "hel\x00lo\u200b wor\x01ld\ufffd\t!\u00a0?", []int32{7592, 2088, 999, 1029}},
		{"invalid utf-8 dropped", "hel\xfflo", []int32{7592}},
		{"specials in text are plain text", "[CLS] don't", []int32{1031, 18856, 2015, 1033, 2123, 1005, 1056}},
		{"apostrophe and period", "The lazy dog.", []int32{1996, 13971, 3899, 1012}},
		{"line and paragraph separators split", "hello\u2028world\u2029!", []int32{7592, 2088, 999}},
		{"empty", "", []int32{}},
		{"only spaces and controls", " \t\x00\u200b\r\n", []int32{}},
		{"101-char word", strings.Repeat("a", 101), []int32{100}},
		{"101 accented chars", strings.Repeat("é", 101), []int32{100}},
	}
	for _, c := range cases {
		if got := tk.IDs(c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: IDs(%q) = %v, want %v", c.name, c.text, got, c.want)
		}
	}
}

func TestTokens(t *testing.T) {
	tk := bert(t)
	cases := []struct{ text, want string }{
		// The tokenization.py docstring's "un ##aff ##able" is illustrative:
		// bert-base-uncased has no "##aff", and greedy longest-match gives this.
		{"unaffable", "una ##ffa ##ble"},
		{"why are hispanics", "why are hispanic ##s"},
		// Python's str.lower maps a word-final Σ to ς ("##οσ" is not in the vocabulary).
		{"ΟΔΟΣ σοφός", "ο ##δ ##ος σ ##ο ##φ ##ος"},
		{"中国", "中 国"},
		{"x中y", "x 中 y"},
		{"naïve", "naive"},
	}
	for _, c := range cases {
		if got := strings.Join(tk.Tokens(c.text), " "); got != c.want {
			t.Errorf("Tokens(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestLongWords(t *testing.T) {
	tk := bert(t)
	// 100 characters is still split: aaa + 48 x ##aa + ##a.
	got := tk.IDs(strings.Repeat("a", 100))
	if len(got) != 50 || got[0] != 13360 || got[1] != 11057 || got[48] != 11057 || got[49] != 2050 {
		t.Errorf("IDs(100 x a) = %v, want [13360 11057 x48 2050]", got)
	}
	// The limit counts characters, not bytes: 60 é are 120 bytes.
	if got := tk.IDs(strings.Repeat("é", 60)); reflect.DeepEqual(got, tk.IDs(strings.Repeat("a", 101))) ||
		!reflect.DeepEqual(got, tk.IDs(strings.Repeat("e", 60))) {
		t.Errorf("IDs(60 x é) = %v, want those of 60 x e", got)
	}
	// Only the long word becomes [UNK].
	if got, want := tk.IDs(strings.Repeat("x", 101)+" hello"), []int32{100, 7592}; !reflect.DeepEqual(got, want) {
		t.Errorf("IDs(long word + hello) = %v, want %v", got, want)
	}
}

// TestReference compares with outputs of google-research/bert
// tokenization.py (BasicTokenizer(do_lower_case=True) + WordpieceTokenizer
// with max_input_chars_per_word=100) under Python 3.11 / Unicode 14, for Brown
// and GLUE sentences, single code points in context and random strings of
// accented, Greek (final sigma), Cyrillic, CJK, Hangul, control, space,
// combining and other characters. Characters new in Unicode 15 are left out.
func TestReference(t *testing.T) {
	tk := bert(t)
	f, err := os.Open(filepath.Join("testdata", "reference.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n, bad := 0, 0
	for sc.Scan() {
		var c struct {
			Text string  `json:"text"`
			IDs  []int32 `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		n++
		if c.IDs == nil {
			c.IDs = []int32{}
		}
		if got := tk.IDs(c.Text); !reflect.DeepEqual(got, c.IDs) {
			if bad++; bad <= 10 {
				t.Errorf("IDs(%q) (%U)\n got %v\nwant %v", c.Text, []rune(c.Text), got, c.IDs)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 700 {
		t.Fatalf("only %d reference cases read", n)
	}
	if bad > 0 {
		t.Errorf("%d of %d reference cases differ", bad, n)
	}
}

func TestEncodeSingle(t *testing.T) {
	tk := bert(t)
	e := tk.Encode("Hello, World!", "", 8)
	want := Encoding{
		IDs:      []int32{101, 7592, 1010, 2088, 999, 102, 0, 0},
		Segments: []int32{0, 0, 0, 0, 0, 0, 0, 0},
		Mask:     []int32{1, 1, 1, 1, 1, 1, 0, 0},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("Encode single = %+v, want %+v", e, want)
	}
	// Truncation keeps the first maxLen-2 tokens.
	e = tk.Encode("the quick brown fox jumps over the lazy dog .", "", 5)
	want = Encoding{
		IDs:       []int32{101, 1996, 4248, 2829, 102},
		Segments:  []int32{0, 0, 0, 0, 0},
		Mask:      []int32{1, 1, 1, 1, 1},
		Truncated: true,
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("Encode truncated single = %+v, want %+v", e, want)
	}
	// No limit: no truncation, no padding.
	e = tk.Encode("hello world", "", 0)
	if want := []int32{101, 7592, 2088, 102}; !reflect.DeepEqual(e.IDs, want) || len(e.Mask) != 4 || len(e.Segments) != 4 || e.Truncated {
		t.Errorf("Encode(maxLen 0) = %+v, want ids %v", e, want)
	}
	// A text B that yields no tokens gives the single layout, as in run_classifier.py.
	e = tk.Encode("hello world", "\x00 \u200b", 6)
	if want := []int32{101, 7592, 2088, 102, 0, 0}; !reflect.DeepEqual(e.IDs, want) {
		t.Errorf("Encode with empty b = %v, want %v", e.IDs, want)
	}
}

func TestEncodePair(t *testing.T) {
	tk := bert(t)
	e := tk.Encode("hello world", "why are hispanics", 12)
	want := Encoding{
		IDs:      []int32{101, 7592, 2088, 102, 2339, 2024, 6696, 2015, 102, 0, 0, 0},
		Segments: []int32{0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0},
		Mask:     []int32{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("Encode pair =\n %+v\nwant\n %+v", e, want)
	}
	// Exactly full: no padding, not truncated.
	e = tk.Encode("hello world", "why are hispanics", 9)
	if !reflect.DeepEqual(e.IDs, want.IDs[:9]) || e.Truncated {
		t.Errorf("Encode pair at exact length = %+v", e)
	}
}

func TestEncodeTruncation(t *testing.T) {
	tk := bert(t)
	// Long a (10 tokens), short b (2): only a loses tokens, from its end.
	e := tk.Encode("the quick brown fox jumps over the lazy dog .", "hello world", 10)
	want := Encoding{
		IDs:       []int32{101, 1996, 4248, 2829, 4419, 14523, 102, 7592, 2088, 102},
		Segments:  []int32{0, 0, 0, 0, 0, 0, 0, 1, 1, 1},
		Mask:      []int32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		Truncated: true,
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("Encode long a =\n %+v\nwant\n %+v", e, want)
	}
	// Long b, short a.
	e = tk.Encode("hello world", "the quick brown fox jumps over the lazy dog .", 9)
	if w := []int32{101, 7592, 2088, 102, 1996, 4248, 2829, 4419, 102}; !reflect.DeepEqual(e.IDs, w) || !e.Truncated {
		t.Errorf("Encode long b = %+v, want ids %v", e, w)
	}

	const c, s = 101, 102
	cases := []struct {
		a, b   []int32
		maxLen int
		want   []int32
	}{
		// Tie: b loses first (3,3 -> 3,2).
		{[]int32{1, 2, 3}, []int32{4, 5, 6}, 8, []int32{c, 1, 2, 3, s, 4, 5, s}},
		// 4,3 -> 3,3 -> 3,2 -> 2,2.
		{[]int32{1, 2, 3, 4}, []int32{5, 6, 7}, 7, []int32{c, 1, 2, s, 5, 6, s}},
		// Both emptied down to nothing but specials.
		{[]int32{1, 2}, []int32{3}, 3, []int32{c, s, s}},
		// b longer by one: b, then alternately.
		{[]int32{1, 2}, []int32{3, 4, 5}, 6, []int32{c, 1, 2, s, 3, s}},
	}
	for _, tc := range cases {
		a0, b0 := append([]int32(nil), tc.a...), append([]int32(nil), tc.b...)
		e := tk.EncodeIDs(tc.a, tc.b, tc.maxLen)
		if !reflect.DeepEqual(e.IDs, tc.want) || !e.Truncated {
			t.Errorf("EncodeIDs(%v, %v, %d) = %v (truncated %v), want %v", tc.a, tc.b, tc.maxLen, e.IDs, e.Truncated, tc.want)
		}
		if !reflect.DeepEqual(tc.a, a0) || !reflect.DeepEqual(tc.b, b0) {
			t.Errorf("EncodeIDs modified its inputs")
		}
	}
}

func TestEncodePadding(t *testing.T) {
	tk := bert(t)
	e := tk.EncodeIDs([]int32{7592}, []int32{2088}, 64)
	if len(e.IDs) != 64 || len(e.Segments) != 64 || len(e.Mask) != 64 || e.Truncated {
		t.Fatalf("lengths %d %d %d, truncated %v", len(e.IDs), len(e.Segments), len(e.Mask), e.Truncated)
	}
	for i := range 64 {
		real := i < 5
		wantMask, wantSeg := int32(0), int32(0)
		if real {
			wantMask = 1
		}
		if i >= 3 && i < 5 {
			wantSeg = 1
		}
		if e.Mask[i] != wantMask || e.Segments[i] != wantSeg || (!real && e.IDs[i] != tk.PadID()) {
			t.Fatalf("position %d: id %d segment %d mask %d", i, e.IDs[i], e.Segments[i], e.Mask[i])
		}
	}
	// Appending to one slice must not overwrite another.
	_ = append(e.IDs, 1)
	_ = append(e.Segments, 1)
	if e.Segments[0] != 0 || e.Mask[0] != 1 {
		t.Errorf("Encoding slices share room")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("EncodeIDs pair with maxLen 2 did not panic")
			}
		}()
		tk.EncodeIDs([]int32{1}, []int32{2}, 2)
	}()
}

// TestSmallVocab checks WordpieceTokenizer on tokenization.py's own example,
// independent of the shared data.
func TestSmallVocab(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vocab.txt")
	vocab := "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nun\r\n##aff\r\n##able\r\nrun\r\n##ning\r\n,\r\n" // CRLF, no final newline
	if err := os.WriteFile(p, []byte(vocab[:len(vocab)-2]), 0o644); err != nil {
		t.Fatal(err)
	}
	tk, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != 11 || tk.UnkID() != 1 || tk.MaskID() != 4 {
		t.Fatalf("VocabSize %d, unk %d, mask %d", tk.VocabSize(), tk.UnkID(), tk.MaskID())
	}
	for _, c := range []struct{ text, want string }{
		{"unaffable", "un ##aff ##able"},
		{"UNwant wanted,running", "[UNK] [UNK] , run ##ning"},
		{"unaffablex", "[UNK]"},
	} {
		if got := strings.Join(tk.Tokens(c.text), " "); got != c.want {
			t.Errorf("Tokens(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	if got, want := tk.IDs("unaffable"), []int32{5, 6, 7}; !reflect.DeepEqual(got, want) {
		t.Errorf("IDs(unaffable) = %v, want %v", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.txt")
	_, err := Load(missing)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) error = %v; want a not-exist error naming the path", err)
	}
	noMask := filepath.Join(dir, "nomask.txt")
	if err := os.WriteFile(noMask, []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(noMask)
	if err == nil || !strings.Contains(err.Error(), noMask) || !strings.Contains(err.Error(), "[MASK]") {
		t.Errorf("Load(no [MASK]) error = %v; want one naming the path and [MASK]", err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(empty); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("Load(empty) error = %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	tk := bert(t)
	texts := []string{"Hello, World!", "why are hispanics", "ΟΔΟΣ σοφός 中国", strings.Repeat("naïve ", 50)}
	want := make([][]int32, len(texts))
	for i, s := range texts {
		want[i] = tk.IDs(s)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (g + i) % len(texts)
				if got := tk.IDs(texts[k]); !reflect.DeepEqual(got, want[k]) {
					t.Errorf("concurrent IDs(%q) = %v, want %v", texts[k], got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkTokenize(b *testing.B) {
	tk := bert(b)
	f, err := os.Open(testdata.FileOrSkip(b, "corpus/brown.txt"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var lines []string
	size := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(lines) < 5000 {
		lines = append(lines, sc.Text())
		size += len(sc.Text())
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		for _, l := range lines {
			tk.IDs(l)
		}
	}
}
