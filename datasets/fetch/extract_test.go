package fetch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func itoa(n int) string { return strconv.Itoa(n) }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// makeTgz builds an npm-style tarball; members are written in reverse name
// order so that extractors cannot rely on archive order.
func makeTgz(t *testing.T, members map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(members))
	for n := range members {
		names = append(names, n)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "package/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, n := range names {
		body := members[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtractCorpusBrown(t *testing.T) {
	tgz := makeTgz(t, map[string]string{
		"package/README":   "not/xx corpus/yy text/zz at/in all/abn\n",
		"package/cats.txt": "ca01 news\n",
		"package/cr09":     "\n\n\tLast/ap one/cd here/rb ./.\n",
		"package/ca01": "\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ./.\n" +
			"Merger/nn-hl proposed/vbn-hl \n" + // a heading: fewer than three words
			"\tHe/pps was/bedz 4'/nns 10''/nns ''/'' tall/jj ./.\n" +
			"Ok/uh ./.\n" +
			"\t1/8''/cd of/in brass/nn\n",
		"package/cb02": "\tA/at b/nn c/nn\n",
	})
	var out bytes.Buffer
	if err := extractCorpusBrown(bytes.NewReader(tgz), &out); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`The jury said " no " .`,
		`He was 4' 10" " tall .`,
		`1/8" of brass`,
		`A b c`,
		`Last one here .`,
	}, "\n") + "\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}

	if err := extractCorpusBrown(bytes.NewReader(makeTgz(t, map[string]string{"package/README": "x"})), &out); err == nil {
		t.Error("no error for a tarball without corpus files")
	}
	if err := extractCorpusBrown(strings.NewReader("not gzip"), &out); err == nil {
		t.Error("no error for a non-gzip input")
	}
}

func TestExtractBertVocab(t *testing.T) {
	tgz := makeTgz(t, map[string]string{
		"package/assets/vocab.json": `["[PAD]","▁","[unused1]","[UNK]","[CLS]","▁!","▁[","▁the","ing","s","▁##","#"]`,
		"package/dist/index.js":     "",
	})
	var out bytes.Buffer
	if err := extractBertVocab(bytes.NewReader(tgz), &out); err != nil {
		t.Fatal(err)
	}
	want := "[PAD]\n[unused0]\n[unused1]\n[UNK]\n[CLS]\n!\n[\nthe\n##ing\n##s\n##\n###\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	if err := extractBertVocab(bytes.NewReader(makeTgz(t, map[string]string{"package/x": ""})), &out); err == nil {
		t.Error("no error for a tarball without vocab.json")
	}
}
