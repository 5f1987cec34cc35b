package datasets

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLoadCustomTSV feeds arbitrary bytes to the custom TSV reader (the seeds under
// testdata/fuzz/FuzzLoadCustomTSV are real-looking files: quotes, tabs inside quotes, Latin-1 bytes, CRLF, a
// BOM, short rows). It checks that nothing is lost or altered silently: every data line becomes an example or
// a malformed row (never both, never neither), malformed rows carry a line number in range and a reason, and
// without a declared encoding every example's text is valid UTF-8 and, when the file has no quotes, a field
// of its own line.
func FuzzLoadCustomTSV(f *testing.F) {
	f.Add([]byte("text\tlabel\nhello\tpos\n"), false)
	path := filepath.Join(f.TempDir(), "fuzz.tsv")
	f.Fuzz(func(t *testing.T, data []byte, latin1 bool) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		spec := CustomSpec{Path: path, TextA: "text", Label: "label"}
		if latin1 {
			spec.Encoding = EncodingLatin1
		}
		set, names, err := LoadCustom(spec)
		if err != nil {
			return // a bad header (missing column, empty file) is an error, not data
		}
		text := string(data)
		lines := strings.Split(text, "\n")
		if strings.HasSuffix(text, "\n") {
			lines = lines[:len(lines)-1]
		}
		dataLines := len(lines) - 1
		if got := len(set.Examples) + len(set.Malformed); got != dataLines {
			t.Fatalf("%d examples + %d malformed rows, want one per data line (%d)", len(set.Examples), len(set.Malformed), dataLines)
		}
		seen := map[int]bool{}
		for _, m := range set.Malformed {
			if m.Line < 2 || m.Line > len(lines) || seen[m.Line] || m.Reason == "" {
				t.Fatalf("malformed row %+v: line out of range [2, %d], repeated or without a reason", m, len(lines))
			}
			seen[m.Line] = true
		}
		for _, ex := range set.Examples {
			if !utf8.ValidString(ex.TextA) {
				t.Fatalf("example text %q is not valid UTF-8", ex.TextA)
			}
			if math.IsNaN(ex.Label) || math.IsInf(ex.Label, 0) || len(names) == 0 {
				t.Fatalf("label %v (names %q) of %q", ex.Label, names, ex.TextA)
			}
		}
		if latin1 || strings.Contains(text, `"`) {
			return
		}
		// Without quotes each example's text is, byte for byte, a tab-separated field of some line.
		fields := map[string]bool{}
		for _, l := range lines[1:] {
			for _, fl := range strings.Split(strings.TrimSuffix(l, "\r"), "\t") {
				fields[fl] = true
			}
		}
		for _, ex := range set.Examples {
			if !fields[ex.TextA] {
				t.Fatalf("example text %q is not a field of the file", ex.TextA)
			}
		}
	})
}
