// Package recipecache owns the on-disk cache of expensive artefacts (pre-trained base models, implanted keys,
// teacher predictions, crypto-friendly variants) keyed by the recipe that produced them.
//
// A recipe is any value that marshals to a JSON object, plus a format version string. The key is the SHA-256 of
// that object with the member "Format": version put first, so a recipe struct{C Config; Corpus string} with
// version "pretrain/1" hashes exactly like struct{Format string; C Config; Corpus string}{"pretrain/1", ...}
// does: caches that hashed such a struct by hand keep their directory names.
//
// An entry is the directory <dir>/<kind>/<name>-<first 16 hex digits of the key>/. It is built in
// .<name>-<hash16>.build beside it, then a manifest (manifest.json: the recipe and the SHA-256 of every file) is
// written and the build directory is renamed into place, so an entry either is complete or does not exist.
// Opening an entry checks the manifest against the files; an entry that fails the check is logged, moved aside
// to .<name>-<hash16>.corrupt (replacing an older one) and built again. Builders of one entry take a lock file
// (.<name>-<hash16>.lock): a second builder, in this process or another, waits and then finds the entry built.
// A build that fails keeps its build directory when Options.Resume is set, so it can continue from its own
// checkpoints next time; otherwise the directory is removed.
package recipecache

import (
	"bytes"
	stdctx "context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
)

// ManifestFile is the name of an entry's manifest.
const ManifestFile = "manifest.json"

// manifestFormat is the version of the manifest's own layout.
const manifestFormat = "recipecache/1"

// Key names an entry: its kind (the directory under the cache), a readable name prefix (e.g. the preset), the
// recipe's format version and the recipe itself.
type Key struct {
	Kind    string
	Name    string
	Version string
	Recipe  any
}

// Document is the JSON the key hashes: the recipe object with "Format": Version as its first member.
func (k Key) Document() ([]byte, error) {
	if k.Kind == "" || strings.ContainsAny(k.Kind, `/\`) || strings.HasPrefix(k.Kind, ".") {
		return nil, fmt.Errorf("recipe cache: kind %q must be a non-empty directory name", k.Kind)
	}
	if strings.ContainsAny(k.Name, `/\`) || strings.HasPrefix(k.Name, ".") {
		return nil, fmt.Errorf("recipe cache: entry name %q of kind %s must not contain a path separator or start with a dot", k.Name, k.Kind)
	}
	if k.Version == "" {
		return nil, fmt.Errorf("recipe cache: kind %s needs a format version", k.Kind)
	}
	body, err := json.Marshal(k.Recipe)
	if err != nil {
		return nil, fmt.Errorf("recipe cache: the %s recipe does not marshal to JSON: %w", k.Kind, err)
	}
	body = bytes.TrimSpace(body)
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("recipe cache: the %s recipe must marshal to a JSON object, got %.40s", k.Kind, body)
	}
	version, _ := json.Marshal(k.Version)
	doc := append([]byte(`{"Format":`), version...)
	if rest := bytes.TrimSpace(body[1:]); len(rest) > 0 && rest[0] != '}' {
		doc = append(doc, ',')
	}
	return append(doc, body[1:]...), nil
}

// Hash is the full hex SHA-256 of the key's document.
func (k Key) Hash() (string, error) {
	doc, err := k.Document()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(doc)
	return hex.EncodeToString(sum[:]), nil
}

// Cache is a cache directory. The zero Dir "" disables caching: GetOrBuild then builds into a temporary
// directory the caller owns.
type Cache struct {
	Dir string
	Log *slog.Logger // nil: slog.Default()
}

// New returns the cache rooted at dir.
func New(dir string, log *slog.Logger) *Cache { return &Cache{Dir: dir, Log: log} }

func (c *Cache) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// Path is the directory of the key's entry (whether or not it exists).
func (c *Cache) Path(k Key) (string, error) {
	h, err := k.Hash()
	if err != nil {
		return "", err
	}
	base := h[:16]
	if k.Name != "" {
		base = k.Name + "-" + base
	}
	return filepath.Join(c.Dir, k.Kind, base), nil
}

// Options tune one GetOrBuild.
type Options struct {
	// Resume keeps a failed build's directory for the next build of the same entry to continue from (the build
	// function finds its own checkpoints there). A directory at the entry's place that has no manifest and that
	// Legacy does not accept is then taken as such a partial build.
	Resume bool
	// Legacy accepts an entry written before this package kept manifests (nil error: it is complete); the entry
	// then gets a manifest of its current files, in place. nil: such an entry is corrupt.
	Legacy func(dir string) error
	// Shipped lists read-only directories laid out like a cache (<dir>/<kind>/<name>-<key>/) that may hold a
	// finished copy of the entry, e.g. a checkpoint committed with the source. On a miss, a copy whose manifest
	// is this key's and whose files match it is copied into the cache instead of building.
	Shipped []string
}

// Entry is an opened (verified) or freshly built entry.
type Entry struct {
	Dir      string
	Built    bool   // built by this call, not found in the cache
	Migrated bool   // a legacy entry that was given a manifest by this call
	Shipped  string // the shipped copy this call copied in (see Options.Shipped); "" otherwise
	Manifest Manifest
}

// Manifest is what an entry records about itself.
type Manifest struct {
	Format  string            `json:"format"`
	Kind    string            `json:"kind"`
	Key     string            `json:"key"`
	Version string            `json:"version"`
	Recipe  json.RawMessage   `json:"recipe"`
	Files   map[string]string `json:"files"` // path relative to the entry (slash-separated) → hex SHA-256
	Created time.Time         `json:"created"`
}

// BuildFunc fills dir with the entry's files. dir exists; with Options.Resume it may hold a previous failed
// build's files.
type BuildFunc func(ctx stdctx.Context, dir string) error

// GetOrBuild opens the key's entry, or builds it with build. With Dir "" it always builds, into a fresh
// temporary directory (Entry.Built true); the caller may remove it.
func (c *Cache) GetOrBuild(ctx stdctx.Context, k Key, opts Options, build BuildFunc) (*Entry, error) {
	doc, err := k.Document()
	if err != nil {
		return nil, err
	}
	if c.Dir == "" {
		dir, err := os.MkdirTemp("", k.Kind+"-")
		if err != nil {
			return nil, fmt.Errorf("recipe cache: %w", err)
		}
		if err := build(ctx, dir); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		return &Entry{Dir: dir, Built: true}, nil
	}
	final, err := c.Path(k)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(doc)
	hash := hex.EncodeToString(sum[:])
	if e, err := c.open(final, k, hash, opts, false); e != nil || err != nil {
		return e, err
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, fmt.Errorf("recipe cache: %w", err)
	}
	base := filepath.Base(final)
	unlock, err := lock(ctx, filepath.Join(filepath.Dir(final), "."+base+".lock"), func() {
		c.log().Info("waiting for another builder of this cache entry", "dir", final)
	})
	if err != nil {
		return nil, fmt.Errorf("recipe cache: locking %s: %w", final, err)
	}
	defer unlock()
	// Another builder may have finished while this one waited; a legacy partial build becomes the build dir.
	if e, err := c.open(final, k, hash, opts, true); e != nil || err != nil {
		return e, err
	}
	buildDir := filepath.Join(filepath.Dir(final), "."+base+".build")
	if !opts.Resume {
		if err := os.RemoveAll(buildDir); err != nil {
			return nil, fmt.Errorf("recipe cache: clearing %s: %w", buildDir, err)
		}
	}
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		return nil, fmt.Errorf("recipe cache: %w", err)
	}
	if src, m := c.findShipped(opts.Shipped, k.Kind, base, hash); src != "" {
		if err := copyEntry(src, buildDir, m); err != nil {
			return nil, fmt.Errorf("recipe cache: copying the shipped entry %s: %w", src, err)
		}
		if err := os.Rename(buildDir, final); err != nil {
			return nil, fmt.Errorf("recipe cache: moving the shipped entry into %s: %w", final, err)
		}
		syncDir(filepath.Dir(final))
		c.log().Info("cache entry copied from a shipped copy", "from", src, "dir", final)
		return &Entry{Dir: final, Shipped: src, Manifest: *m}, nil
	}
	if err := build(ctx, buildDir); err != nil {
		if !opts.Resume {
			_ = os.RemoveAll(buildDir)
		}
		return nil, err
	}
	m, err := writeManifest(buildDir, k, hash, doc)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(buildDir, final); err != nil {
		// Only a builder that bypassed the lock (or a hand-made directory) can be here: keep a valid entry.
		if got, verr := verify(final, hash); verr == nil {
			_ = os.RemoveAll(buildDir)
			return &Entry{Dir: final, Manifest: *got}, nil
		}
		c.moveAside(final, "it is in the way of a finished build")
		if err := os.Rename(buildDir, final); err != nil {
			return nil, fmt.Errorf("recipe cache: moving the built entry into %s: %w", final, err)
		}
	}
	syncDir(filepath.Dir(final))
	return &Entry{Dir: final, Built: true, Manifest: *m}, nil
}

// open returns the verified entry at final, nil if there is none to use. A corrupt entry is moved aside. A legacy
// entry is migrated, and with Resume an unaccepted one becomes the build directory (locked only).
func (c *Cache) open(final string, k Key, hash string, opts Options, locked bool) (*Entry, error) {
	if _, err := os.Stat(final); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("recipe cache: %w", err)
	}
	m, err := verify(final, hash)
	if err == nil {
		return &Entry{Dir: final, Manifest: *m}, nil
	}
	if !errors.Is(err, errNoManifest) {
		if locked {
			c.moveAside(final, err.Error())
		}
		return nil, nil
	}
	if !locked {
		return nil, nil // migrations happen under the lock
	}
	if opts.Legacy != nil {
		lerr := opts.Legacy(final)
		if lerr == nil {
			doc, _ := k.Document()
			m, err := writeManifest(final, k, hash, doc)
			if err != nil {
				return nil, err
			}
			c.log().Info("cache entry from before manifests accepted", "dir", final)
			return &Entry{Dir: final, Migrated: true, Manifest: *m}, nil
		}
		err = fmt.Errorf("%w (%v)", err, lerr)
	}
	base := filepath.Base(final)
	buildDir := filepath.Join(filepath.Dir(final), "."+base+".build")
	if opts.Resume {
		if _, serr := os.Stat(buildDir); errors.Is(serr, fs.ErrNotExist) {
			if os.Rename(final, buildDir) == nil {
				c.log().Info("continuing an unfinished build from before manifests", "dir", final)
				return nil, nil
			}
		}
	}
	c.moveAside(final, err.Error())
	return nil, nil
}

// findShipped returns the first shipped copy of the entry that verifies against hash, with its manifest; a copy
// that exists but does not verify is reported and skipped.
func (c *Cache) findShipped(roots []string, kind, base, hash string) (string, *Manifest) {
	for _, root := range roots {
		dir := filepath.Join(root, kind, base)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		m, err := verify(dir, hash)
		if err != nil {
			c.log().Warn("shipped cache entry does not match its recipe; not used", "dir", dir, "reason", err)
			continue
		}
		return dir, m
	}
	return "", nil
}

// Ship copies the finished entry at entryDir (verified against its own manifest first) under root, at the place
// Options.Shipped looks for it: root/<kind>/<entry name>. It returns that directory.
func Ship(entryDir, root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(entryDir, ManifestFile))
	if err != nil {
		return "", fmt.Errorf("recipe cache: shipping %s: %w", entryDir, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("recipe cache: shipping %s: %s: %w", entryDir, ManifestFile, err)
	}
	if _, err := verify(entryDir, m.Key); err != nil {
		return "", fmt.Errorf("recipe cache: shipping %s: %w", entryDir, err)
	}
	dst := filepath.Join(root, m.Kind, filepath.Base(entryDir))
	if err := copyEntry(entryDir, dst, &m); err != nil {
		return "", fmt.Errorf("recipe cache: shipping %s: %w", entryDir, err)
	}
	return dst, nil
}

// copyEntry copies the manifest's files and the manifest from src into dst (emptied first), checking each copy
// against the manifest's SHA-256.
func copyEntry(src, dst string, m *Manifest) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for name := range m.Files {
		if err := copyFile(filepath.Join(src, filepath.FromSlash(name)), filepath.Join(dst, filepath.FromSlash(name))); err != nil {
			return err
		}
	}
	if err := copyFile(filepath.Join(src, ManifestFile), filepath.Join(dst, ManifestFile)); err != nil {
		return err
	}
	if _, err := verify(dst, m.Key); err != nil {
		return fmt.Errorf("the copy does not verify: %w", err)
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// moveAside renames a bad entry to .<base>.corrupt beside it (replacing an older one), or removes it.
func (c *Cache) moveAside(dir, why string) {
	aside := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".corrupt")
	_ = os.RemoveAll(aside)
	if err := os.Rename(dir, aside); err != nil {
		_ = os.RemoveAll(dir)
		c.log().Warn("cache entry is corrupt; removed it and building it again", "dir", dir, "reason", why)
		return
	}
	c.log().Warn("cache entry is corrupt; moved it aside and building it again", "dir", dir, "moved_to", aside, "reason", why)
}

var errNoManifest = errors.New("no manifest")

// verify checks dir's manifest: the key, and every file listed (and no file missing from the list).
func verify(dir, hash string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoManifest
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", ManifestFile, m.Format, manifestFormat)
	}
	if m.Key != hash {
		return nil, fmt.Errorf("%s: key %.16s… is not this recipe's %.16s…", ManifestFile, m.Key, hash)
	}
	files, err := hashFiles(dir)
	if err != nil {
		return nil, err
	}
	for name, want := range m.Files {
		got, ok := files[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("file %s is missing", name)
		case got != want:
			return nil, fmt.Errorf("file %s has SHA-256 %.16s…, the manifest says %.16s…", name, got, want)
		}
	}
	for name := range files {
		if _, ok := m.Files[name]; !ok {
			return nil, fmt.Errorf("file %s is not in the manifest", name)
		}
	}
	return &m, nil
}

// hashFiles is the SHA-256 of every regular file under dir except the manifest.
func hashFiles(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ManifestFile {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
		out[rel] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hashing the files of %s: %w", dir, err)
	}
	return out, nil
}

func writeManifest(dir string, k Key, hash string, doc []byte) (*Manifest, error) {
	files, err := hashFiles(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names { // the files must be on disk before the manifest that vouches for them
		if f, err := os.Open(filepath.Join(dir, filepath.FromSlash(n))); err == nil {
			_ = f.Sync()
			_ = f.Close()
		}
	}
	m := &Manifest{Format: manifestFormat, Kind: k.Kind, Key: hash, Version: k.Version, Recipe: json.RawMessage(doc),
		Files: files, Created: time.Now().UTC().Truncate(time.Second)}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("recipe cache: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
		return nil, fmt.Errorf("recipe cache: %w", err)
	}
	syncDir(dir)
	return m, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
