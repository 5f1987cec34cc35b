package operators

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"

	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
)

// KeyVersion is the key format version this build writes and reads.
const KeyVersion = 1

// KeyFormat is the "format" field of a key file.
const KeyFormat = "cyphertalk-key/1"

// BertSpecialIDs are the ids of [PAD] [UNK] [CLS] [SEP] [MASK] in bert-base-uncased (V = 30,522).
var BertSpecialIDs = []int32{0, 100, 101, 102, 103}

// BertVocabSize is the vocabulary size of bert-base-uncased.
const BertVocabSize = 30522

// Seed is the 32-byte secret from which all of a key's randomness derives. It never prints: fmt, slog and
// encoding/json show "Seed(redacted)"; use Hex for the one place that must write it (the key file).
type Seed [32]byte

const redactedSeed = "Seed(redacted)"

// NewSeed draws a seed from crypto/rand.
func NewSeed() (Seed, error) {
	var s Seed
	if _, err := io.ReadFull(rand.Reader, s[:]); err != nil {
		return Seed{}, fmt.Errorf("drawing a key seed: %w", err)
	}
	return s, nil
}

// SeedFromUint64 derives a seed from a small integer, SHA-256("cyphertalk/seed/v1" || uint64be(n)), for
// reproducible experiments and tests. Such seeds are guessable: use NewSeed for a real client.
func SeedFromUint64(n uint64) Seed {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return Seed(deriveSeed(labelSeed, b[:], nil))
}

// ParseSeedHex parses 64 hex digits.
func ParseSeedHex(s string) (Seed, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return Seed{}, errors.New("key seed must be 64 hex digits")
	}
	return Seed(b), nil
}

// Hex returns the seed as 64 lowercase hex digits. It is the only way to print a seed.
func (s Seed) Hex() string { return hex.EncodeToString(s[:]) }

func (s Seed) String() string                { return redactedSeed }
func (s Seed) GoString() string              { return redactedSeed }
func (s Seed) Format(f fmt.State, verb rune) { io.WriteString(f, redactedSeed) }
func (s Seed) LogValue() slog.Value          { return slog.StringValue(redactedSeed) }
func (s Seed) MarshalJSON() ([]byte, error)  { return json.Marshal(redactedSeed) }
func (s Seed) MarshalText() ([]byte, error)  { return []byte(redactedSeed), nil }
func (s *Seed) UnmarshalJSON(data []byte) error {
	return errors.New("operators: a Seed cannot be read from JSON; use LoadKey")
}

// Key is the client's secret: everything needed to regenerate E_s from the public table.
//
// Mapping to the paper: vskey = {vsn, vsops[], vsopts[]} is Vertical, with vsn = len(Vertical),
// vsops[k] = Vertical[k].Op and vsopts[k] = Vertical[k].Params; hskey = {π} is Horizontal (π itself is
// regenerated from Seed by Permutation). A Key prints, logs and JSON-marshals as its fingerprint only.
type Key struct {
	// Version is the key format version (KeyVersion).
	Version int
	// VocabSize is V, the number of rows of the table the key shakes.
	VocabSize int
	// Dim is d, the width of the table, or 0 when the key fits any width.
	Dim int
	// Seed is the secret all randomness derives from.
	Seed Seed
	// Vertical is the vertical chain, applied in order.
	Vertical []OpSpec
	// Horizontal says whether π permutes the non-special rows.
	Horizontal bool
	// Special are the token ids never perturbed and never moved (sorted, unique).
	Special []int32
}

// KeyOptions configures NewKey.
type KeyOptions struct {
	VocabSize int
	Dim       int // 0: any width
	// Special token ids; nil means none (pass BertSpecialIDs for bert-base-uncased).
	Special    []int32
	Horizontal bool
	// Chain is an explicit vertical chain. When it is nil, Random draws one from the seed; when both are
	// nil the key has no vertical operator.
	Chain  []OpSpec
	Random *RandomChain
}

// NewKey makes a key from a seed: the explicit chain of o.Chain, or one drawn by o.Random from the seed.
func NewKey(seed Seed, o KeyOptions) (Key, error) {
	if o.Chain != nil && o.Random != nil {
		return Key{}, errors.New("new key: give an explicit chain or a random chain, not both")
	}
	chain := cloneChain(o.Chain)
	if o.Random != nil {
		var err error
		if chain, err = o.Random.Draw(seed); err != nil {
			return Key{}, fmt.Errorf("new key: %w", err)
		}
	}
	special := slices.Clone(o.Special)
	slices.Sort(special)
	k := Key{Version: KeyVersion, VocabSize: o.VocabSize, Dim: o.Dim, Seed: seed, Vertical: chain,
		Horizontal: o.Horizontal, Special: special}
	if err := k.Validate(); err != nil {
		return Key{}, fmt.Errorf("new key: %w", err)
	}
	return k, nil
}

// Validate checks version, sizes, special ids (in range, sorted, unique) and every operator.
func (k Key) Validate() error {
	if k.Version != KeyVersion {
		return fmt.Errorf("key version %d is not supported (this build reads %s)", k.Version, KeyFormat)
	}
	if k.VocabSize <= 0 {
		return fmt.Errorf("key vocabulary size %d must be positive", k.VocabSize)
	}
	if k.Dim < 0 {
		return fmt.Errorf("key width %d must be >= 0 (0 = any)", k.Dim)
	}
	for i, id := range k.Special {
		if id < 0 || int(id) >= k.VocabSize {
			return fmt.Errorf("special token id %d outside the vocabulary [0, %d)", id, k.VocabSize)
		}
		if i > 0 && k.Special[i-1] >= id {
			return fmt.Errorf("special token ids must be sorted and unique, got %v", k.Special)
		}
	}
	for i, s := range k.Vertical {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("vertical operator %d: %w", i, err)
		}
	}
	return nil
}

// VSN is vsn, the number of vertical operators.
func (k Key) VSN() int { return len(k.Vertical) }

// keyFile is the on-disk JSON. Its compact encoding without Fingerprint is the key's canonical form.
type keyFile struct {
	Format      string   `json:"format"`
	PRNG        string   `json:"prng"`
	VocabSize   int      `json:"vocab_size"`
	Dim         int      `json:"dim"`
	Seed        string   `json:"seed"`
	Vertical    []OpSpec `json:"vertical"`
	Horizontal  bool     `json:"horizontal"`
	Special     []int32  `json:"special"`
	Fingerprint string   `json:"fingerprint,omitempty"`
}

func (k Key) file() keyFile {
	vertical := cloneChain(k.Vertical)
	special := slices.Clone(k.Special)
	if special == nil {
		special = []int32{}
	}
	return keyFile{Format: fmt.Sprintf("cyphertalk-key/%d", k.Version), PRNG: PRNGName, VocabSize: k.VocabSize,
		Dim: k.Dim, Seed: k.Seed.Hex(), Vertical: vertical, Horizontal: k.Horizontal, Special: special}
}

// CanonicalBytes is the key's canonical encoding: compact JSON (encoding/json, no whitespace, no HTML
// escaping) of the object {format, prng, vocab_size, dim, seed (64 lowercase hex digits), vertical
// ([{op, params}] in chain order, params as an object with keys sorted, numbers in Go's shortest round-trip
// form), horizontal, special (ascending ids, [] when none)} in exactly that field order, without the
// fingerprint. It contains the seed: it is secret.
func (k Key) CanonicalBytes() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(k.file()); err != nil {
		panic(fmt.Sprintf("operators: encoding a key: %v", err)) // only finite floats, strings, ints
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Fingerprint is the lowercase hex SHA-256 of CanonicalBytes: what results files and logs record.
func (k Key) Fingerprint() string {
	sum := sha256.Sum256(k.CanonicalBytes())
	return hex.EncodeToString(sum[:])
}

func (k Key) redacted() string { return "Key(fingerprint=" + k.Fingerprint() + ")" }

// String returns only the fingerprint.
func (k Key) String() string { return k.redacted() }

// GoString returns only the fingerprint (for %#v).
func (k Key) GoString() string { return k.redacted() }

// Format prints only the fingerprint, whatever the verb, so no verb (%v, %+v, %d, %x, …) reaches the seed.
func (k Key) Format(f fmt.State, verb rune) { io.WriteString(f, k.redacted()) }

// LogValue logs only the fingerprint.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("fingerprint", k.Fingerprint()))
}

// MarshalJSON writes only the fingerprint, so a Key that strays into a results file does not leak; the key
// file is written by Save.
func (k Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"fingerprint": k.Fingerprint()})
}

// Save writes the key file atomically with mode 0600: the canonical fields, indented, plus "fingerprint".
func (k Key) Save(path string) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("saving key %s: %w", path, err)
	}
	data, err := k.fileBytes()
	if err != nil {
		return fmt.Errorf("saving key %s: %w", path, err)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("saving key: %w", err)
	}
	return nil
}

// fileBytes is the key file Save writes: the canonical fields, indented, plus "fingerprint".
func (k Key) fileBytes() ([]byte, error) {
	f := k.file()
	f.Fingerprint = k.Fingerprint()
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// LoadKey reads a key file. It refuses a file readable or writable by group or others (mode & 0o077 != 0),
// another format version or PRNG, a vocabulary size other than vocabSize, unknown fields, invalid operators,
// and a "fingerprint" field that does not match the contents (a hand-written file may omit it).
func LoadKey(path string, vocabSize int) (Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Key{}, fmt.Errorf("loading key: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return Key{}, fmt.Errorf("loading key %s: file mode %04o lets group or others access a secret key; run `chmod 600 %s`",
			path, st.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("loading key: %w", err)
	}
	k, err := parseKeyFile(data, vocabSize)
	if err != nil {
		return Key{}, fmt.Errorf("loading key %s: %w", path, err)
	}
	return k, nil
}

func parseKeyFile(data []byte, vocabSize int) (Key, error) {
	var head struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return Key{}, fmt.Errorf("not a key file: %w", err)
	}
	var version int
	if _, err := fmt.Sscanf(head.Format, "cyphertalk-key/%d", &version); err != nil || head.Format != fmt.Sprintf("cyphertalk-key/%d", version) {
		return Key{}, fmt.Errorf("format %q is not a CypherTalk key (want %q)", head.Format, KeyFormat)
	}
	if version != KeyVersion {
		return Key{}, fmt.Errorf("key format %q is not supported (this build reads %q)", head.Format, KeyFormat)
	}
	var f keyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Key{}, fmt.Errorf("key file: %w", err)
	}
	if f.PRNG != PRNGName {
		return Key{}, fmt.Errorf("key PRNG %q is not supported (this build uses %q)", f.PRNG, PRNGName)
	}
	if f.VocabSize != vocabSize {
		return Key{}, fmt.Errorf("key is for vocabulary size %d, want %d", f.VocabSize, vocabSize)
	}
	seed, err := ParseSeedHex(f.Seed)
	if err != nil {
		return Key{}, err
	}
	k := Key{Version: version, VocabSize: f.VocabSize, Dim: f.Dim, Seed: seed, Vertical: f.Vertical,
		Horizontal: f.Horizontal, Special: f.Special}
	if err := k.Validate(); err != nil {
		return Key{}, err
	}
	if f.Fingerprint != "" && f.Fingerprint != k.Fingerprint() {
		return Key{}, errors.New("fingerprint does not match the key's contents (corrupted or edited file)")
	}
	return k, nil
}
