package operators

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func bertKey(t *testing.T) Key {
	t.Helper()
	k, err := NewKey(SeedFromUint64(77), KeyOptions{VocabSize: BertVocabSize, Dim: 768, Special: []int32{103, 0, 101, 100, 102},
		Horizontal: true, Chain: mustChain(t, "gaussian:sigma=0.5;tilt:angle=0.3")})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCanonicalBytesAndFingerprint(t *testing.T) {
	k := bertKey(t)
	want := `{"format":"cyphertalk-key/1","prng":"` + PRNGName + `","vocab_size":30522,"dim":768,"seed":"` + k.Seed.Hex() +
		`","vertical":[{"op":"gaussian","params":{"sigma":0.5}},{"op":"tilt","params":{"angle":0.3}}],"horizontal":true,"special":[0,100,101,102,103]}`
	if got := string(k.CanonicalBytes()); got != want {
		t.Errorf("canonical bytes\n got %s\nwant %s", got, want)
	}
	fp := k.Fingerprint()
	if len(fp) != 64 || fp != bertKey(t).Fingerprint() {
		t.Errorf("fingerprint %q not a stable SHA-256 hex", fp)
	}
	other := k
	other.Seed = SeedFromUint64(78)
	if other.Fingerprint() == fp {
		t.Error("another seed has the same fingerprint")
	}
	other = bertKey(t)
	other.Vertical[0].Params["sigma"] = 0.6
	if other.Fingerprint() == fp {
		t.Error("another sigma has the same fingerprint")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "client.key")
	k := bertKey(t)
	if err := k.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", st.Mode().Perm())
	}
	got, err := LoadKey(path, BertVocabSize)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.CanonicalBytes(), k.CanonicalBytes()) || got.Fingerprint() != k.Fingerprint() {
		t.Errorf("loaded key differs:\n%s\n%s", got.CanonicalBytes(), k.CanonicalBytes())
	}
	p1, _ := Permutation(k)
	p2, _ := Permutation(got)
	if fmt.Sprint([]int32(p1[:50])) != fmt.Sprint([]int32(p2[:50])) {
		t.Error("loaded key gives another π")
	}

	if _, err := LoadKey(path, 30000); err == nil || !strings.Contains(err.Error(), "vocabulary size 30522, want 30000") {
		t.Errorf("another vocabulary size: %v", err)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path, BertVocabSize); err == nil || !strings.Contains(err.Error(), "0644") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("0644 key file: %v", err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path, BertVocabSize); err == nil {
		t.Error("0640 key file accepted")
	}

	data, _ := os.ReadFile(path)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"v2.key", `"cyphertalk-key/1"`, `"cyphertalk-key/2"`, `key format "cyphertalk-key/2" is not supported`},
		{"other.key", `"cyphertalk-key/1"`, `"something/1"`, `is not a CypherTalk key`},
		{"prng.key", PRNGName, "pcg", `PRNG "pcg" is not supported`},
		{"tampered.key", `"sigma": 0.5`, `"sigma": 0.7`, "fingerprint does not match"},
		{"unknown.key", `"horizontal"`, `"extra": 1, "horizontal"`, `unknown field "extra"`},
		{"badop.key", `"gaussian"`, `"gauss"`, "valid operators"},
	} {
		changed := bytes.Replace(data, []byte(tc.from), []byte(tc.to), 1)
		if bytes.Equal(changed, data) {
			t.Fatalf("%s: %q not in the key file:\n%s", tc.name, tc.from, data)
		}
		if _, err := LoadKey(write(tc.name, changed), BertVocabSize); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	// A hand-written key may omit the fingerprint.
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "fingerprint")
	noFP, _ := json.Marshal(m)
	if got, err := LoadKey(write("nofp.key", noFP), BertVocabSize); err != nil || got.Fingerprint() != k.Fingerprint() {
		t.Errorf("key without fingerprint: %v", err)
	}
}

func TestKeyNeverPrintsSeed(t *testing.T) {
	k := bertKey(t)
	secret := []string{k.Seed.Hex(), fmt.Sprint([32]byte(k.Seed)), fmt.Sprintf("%x", [32]byte(k.Seed))[:20]}
	check := func(what, out string) {
		t.Helper()
		for _, s := range secret {
			if strings.Contains(out, s) {
				t.Errorf("%s leaks the seed: %s", what, out)
			}
		}
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q"} {
		check(verb, fmt.Sprintf(verb, k))
		check(verb+" pointer", fmt.Sprintf(verb, &k))
		check(verb+" seed", fmt.Sprintf(verb, k.Seed))
		check(verb+" in a struct", fmt.Sprintf(verb, struct {
			K Key
			S Seed
		}{k, k.Seed}))
	}
	if out := fmt.Sprintf("%v", k); !strings.Contains(out, k.Fingerprint()) {
		t.Errorf("%%v of a key = %q, want its fingerprint", out)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("shaking", "key", k, "keyptr", &k, "seed", k.Seed)
	log.Info("as any", slog.Any("key", k))
	check("slog JSON", buf.String())
	if !strings.Contains(buf.String(), `"key":{"fingerprint":"`+k.Fingerprint()+`"}`) {
		t.Errorf("slog line lacks the fingerprint: %s", buf.String())
	}
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("shaking", "key", k, "seed", k.Seed)
	check("slog text", buf.String())
	js, err := json.Marshal(struct{ Key Key }{k})
	if err != nil {
		t.Fatal(err)
	}
	check("encoding/json", string(js))
	js, _ = json.Marshal(k.Seed)
	check("encoding/json seed", string(js))
}

func TestNewKeyValidates(t *testing.T) {
	seed := SeedFromUint64(1)
	for _, tc := range []struct {
		o    KeyOptions
		want string
	}{
		{KeyOptions{VocabSize: 0}, "vocabulary size 0"},
		{KeyOptions{VocabSize: 10, Special: []int32{10}}, "outside the vocabulary"},
		{KeyOptions{VocabSize: 10, Special: []int32{3, 3}}, "sorted and unique"},
		{KeyOptions{VocabSize: 10, Chain: []OpSpec{{Op: "blur"}}}, "valid operators"},
		{KeyOptions{VocabSize: 10, Chain: []OpSpec{{Op: "tilt"}}, Random: &RandomChain{N: 1}}, "not both"},
	} {
		if _, err := NewKey(seed, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewKey(%+v): %v, want %q", tc.o, err, tc.want)
		}
	}
	s, err := NewSeed()
	if err != nil || s == (Seed{}) {
		t.Errorf("NewSeed = %v", err)
	}
	if p, err := ParseSeedHex(s.Hex()); err != nil || p != s {
		t.Errorf("ParseSeedHex(Hex) = %v", err)
	}
}
