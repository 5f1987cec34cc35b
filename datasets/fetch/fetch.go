package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Options configure Fetch.
type Options struct {
	// Dest is the data directory to fill; it is created if needed.
	Dest string
	// Mirror, when set, replaces every file's sources: the file is fetched
	// from Mirror + "/" + Path. Mirror is an http(s) URL or a local directory
	// (a plain path or a file:// URL), laid out like the data directory; it
	// serves final files, so no Extract step is applied.
	Mirror string
	// Progress shows a progress bar (bytes) on stderr for each download.
	Progress bool
	// Client is the HTTP client; nil means a client like http.DefaultClient
	// with timeouts (see DefaultClient).
	Client *http.Client
	// Only, when non-empty, restricts the fetch to the files whose Path
	// starts with one of these prefixes.
	Only []string
	// Logger receives progress and warnings; nil means slog.Default().
	Logger *slog.Logger
}

// Report says what Fetch did. Downloaded lists every file written (including
// those whose download resumed a .part, which Resumed lists too); Skipped,
// the files already present with the expected digest (or present, when no
// digest is known); Bytes, the bytes transferred; Unverified, the digest
// obtained for each file written without an expected digest.
type Report struct {
	Downloaded, Skipped, Resumed []string
	Bytes                        int64
	Unverified                   map[string]string
}

// DigestError reports downloaded bytes whose SHA-256 digest is not the
// expected one.
type DigestError struct {
	Path     string // data-relative path of the file
	URL      string // where the bytes came from
	What     string // "file" or "download" (the archive an Extract step reads)
	Expected string
	Got      string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s: sha256 mismatch of the %s from %s: expected %s, got %s (the partial download was deleted)",
		e.Path, e.What, e.URL, e.Expected, e.Got)
}

// DefaultClient is the HTTP client Fetch uses when Options.Client is nil: the
// default transport (proxy from the environment) with connection and
// response-header timeouts, and an overall limit per request.
var DefaultClient = newDefaultClient()

func newDefaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSHandshakeTimeout = 30 * time.Second
	tr.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: tr, Timeout: 30 * time.Minute}
}

const userAgent = "cyphertalk-go-datasets-fetch"

// Missing returns the files that are not present (as regular files) under
// dataDir. It does not check digests; Fetch does.
func Missing(dataDir string, files []File) []File {
	var out []File
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dataDir, filepath.FromSlash(f.Path)))
		if err != nil || !st.Mode().IsRegular() {
			out = append(out, f)
		}
	}
	return out
}

// Fetch brings files (restricted by opts.Only) into opts.Dest.
//
// A file already present with the expected digest is skipped. Otherwise it is
// downloaded into <path>.part — resuming an existing .part with an HTTP Range
// request, and starting over when the server ignores the range — and its
// SHA-256 is computed over the whole file. On a mismatch the .part is deleted
// and a *DigestError names the file and both digests; on success the .part
// is synced and renamed onto the final path, so that a final path only ever
// holds a complete, verified file. A file with an Extract step is downloaded
// into <path>.src.part, checked against SourceSHA256 when set, and
// transformed into <path>.part. When a source fails, the file's Alt sources
// are tried in order.
//
// Fetch goes on past a failed file and returns all failures together, with a
// hint on fetching from a mirror or copying the files by hand. Cancelling ctx
// stops it at once and keeps the .part for a later resume. The Report is
// never nil.
func Fetch(ctx context.Context, files []File, opts Options) (*Report, error) {
	rep := &Report{}
	if opts.Dest == "" {
		return rep, errors.New("fetch: no destination directory (Options.Dest)")
	}
	selected, err := selectFiles(files, opts.Only)
	if err != nil {
		return rep, err
	}
	if err := os.MkdirAll(opts.Dest, 0o755); err != nil {
		return rep, fmt.Errorf("fetch: create data directory: %w", err)
	}
	f := &fetcher{opts: opts, rep: rep, log: opts.Logger, client: opts.Client}
	if f.log == nil {
		f.log = slog.Default()
	}
	if f.client == nil {
		f.client = DefaultClient
	}
	var errs []error
	var failed []File
	for _, file := range selected {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("fetch: interrupted before %s: %w", file.Path, err)
		}
		err := f.fetchFile(ctx, file)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return rep, err
		}
		f.log.Error("fetch failed", "path", file.Path, "err", err)
		errs = append(errs, err)
		failed = append(failed, file)
	}
	if len(errs) == 0 {
		return rep, nil
	}
	hint := fmt.Sprintf("if this machine cannot reach these sources, set a mirror (`cyphertalk data fetch --mirror`, Options.Mirror: an http(s) URL "+
		"or a directory laid out like the data directory), or copy the files into %s by hand; ", opts.Dest)
	return rep, fmt.Errorf("fetch: %d of %d files failed:\n%w\n\n%s%s",
		len(errs), len(selected), errors.Join(errs...), hint, ExpectedFilesMessage(failed))
}

func selectFiles(files []File, only []string) ([]File, error) {
	for _, f := range files {
		if err := checkRelPath(f.Path); err != nil {
			return nil, err
		}
	}
	if len(only) == 0 {
		return files, nil
	}
	var out []File
	for _, f := range files {
		for _, p := range only {
			p = strings.TrimPrefix(filepath.ToSlash(p), "./")
			if strings.HasPrefix(f.Path, p) {
				out = append(out, f)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("fetch: no file matches %q\n%s", only, ExpectedFilesMessage(files))
	}
	return out, nil
}

func checkRelPath(p string) error {
	if p == "" || path.IsAbs(p) || strings.Contains(p, `\`) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("fetch: invalid data path %q (want a clean, relative, slash-separated path)", p)
	}
	return nil
}

type fetcher struct {
	opts   Options
	rep    *Report
	log    *slog.Logger
	client *http.Client
}

func (f *fetcher) sources(file File) []Source {
	if f.opts.Mirror != "" {
		return []Source{{URL: mirrorURL(f.opts.Mirror, file.Path)}}
	}
	return append([]Source{{URL: file.URL, Extract: file.Extract, SourceSHA256: file.SourceSHA256}}, file.Alt...)
}

func mirrorURL(mirror, rel string) string {
	if isHTTP(mirror) {
		segs := strings.Split(rel, "/")
		for i, s := range segs {
			segs[i] = url.PathEscape(s)
		}
		return strings.TrimRight(mirror, "/") + "/" + strings.Join(segs, "/")
	}
	return filepath.Join(localPath(mirror), filepath.FromSlash(rel))
}

func isHTTP(u string) bool {
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")
}

func localPath(u string) string { return strings.TrimPrefix(u, "file://") }

func (f *fetcher) fetchFile(ctx context.Context, file File) error {
	final := filepath.Join(f.opts.Dest, filepath.FromSlash(file.Path))
	present, err := f.checkPresent(file, final)
	if err != nil {
		return err
	}
	if present {
		f.rep.Skipped = append(f.rep.Skipped, file.Path)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return fmt.Errorf("%s: create directory: %w", file.Path, err)
	}
	srcs := f.sources(file)
	var errs []error
	for i, src := range srcs {
		err := f.fetchFrom(ctx, file, src, final)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		errs = append(errs, err)
		if i+1 < len(srcs) {
			f.log.Warn("source failed; trying the next one", "path", file.Path, "url", src.URL, "next", srcs[i+1].URL, "err", err)
		}
	}
	return errors.Join(errs...)
}

// checkPresent reports whether final already holds the file.
func (f *fetcher) checkPresent(file File, final string) (bool, error) {
	st, err := os.Stat(final)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", file.Path, err)
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("%s: %s exists and is not a regular file", file.Path, final)
	}
	if file.SHA256 == "" {
		f.log.Info("present; no known digest to verify it against", "path", file.Path)
		return true, nil
	}
	got, err := hashFile(final)
	if err != nil {
		return false, fmt.Errorf("%s: %w", file.Path, err)
	}
	if got == file.SHA256 {
		f.log.Debug("present and verified", "path", file.Path)
		return true, nil
	}
	f.log.Warn("present with a wrong digest; downloading it again", "path", file.Path, "expected", file.SHA256, "got", got)
	return false, nil
}

// fetchFrom downloads file from src, verifies it and puts it at final.
func (f *fetcher) fetchFrom(ctx context.Context, file File, src Source, final string) error {
	var x extractor
	if src.Extract != "" {
		var err error
		if x, err = lookupExtractor(src.Extract); err != nil {
			return fmt.Errorf("%s: %w", file.Path, err)
		}
	}
	part := final + ".part"
	dl := part
	if x != nil {
		dl = final + ".src.part"
	}
	// A resumed download that fails verification is retried once from 0: the
	// remote file may have changed since the .part was written.
	for attempt := 0; ; attempt++ {
		resumed, err := f.download(ctx, file.Path, src.URL, dl)
		if err != nil {
			return err
		}
		if x != nil && src.SourceSHA256 != "" {
			got, err := hashFile(dl)
			if err != nil {
				return fmt.Errorf("%s: %w", file.Path, err)
			}
			if got != src.SourceSHA256 {
				os.Remove(dl)
				if resumed && attempt == 0 {
					f.log.Warn("resumed download has a wrong digest; starting over", "path", file.Path, "url", src.URL)
					continue
				}
				return &DigestError{Path: file.Path, URL: src.URL, What: "download", Expected: src.SourceSHA256, Got: got}
			}
		}
		if x != nil {
			if err := extractTo(x, dl, part); err != nil {
				os.Remove(part)
				os.Remove(dl)
				return fmt.Errorf("%s: %s from %s: %w", file.Path, src.Extract, src.URL, err)
			}
		}
		got, err := hashFile(part)
		if err != nil {
			return fmt.Errorf("%s: %w", file.Path, err)
		}
		if file.SHA256 != "" && got != file.SHA256 {
			os.Remove(part)
			if x != nil {
				os.Remove(dl)
			}
			if resumed && attempt == 0 {
				f.log.Warn("resumed download has a wrong digest; starting over", "path", file.Path, "url", src.URL)
				continue
			}
			return &DigestError{Path: file.Path, URL: src.URL, What: "file", Expected: file.SHA256, Got: got}
		}
		if err := os.Rename(part, final); err != nil {
			return fmt.Errorf("%s: move into place: %w", file.Path, err)
		}
		syncDir(filepath.Dir(final))
		if x != nil {
			os.Remove(dl)
		}
		f.rep.Downloaded = append(f.rep.Downloaded, file.Path)
		if resumed {
			f.rep.Resumed = append(f.rep.Resumed, file.Path)
		}
		if file.SHA256 == "" {
			if f.rep.Unverified == nil {
				f.rep.Unverified = map[string]string{}
			}
			f.rep.Unverified[file.Path] = got
			f.log.Warn("downloaded without a known digest: not verified", "path", file.Path, "url", src.URL, "sha256", got)
		} else {
			f.log.Info("downloaded and verified", "path", file.Path, "url", src.URL, "sha256", got)
		}
		return nil
	}
}

// extractTo runs x on the archive at src, writing dst (synced).
func extractTo(x extractor, src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if err := x(in, out); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// download brings the bytes at u into part, resuming what part holds. It
// reports whether it resumed. On error part is kept (possibly incomplete).
func (f *fetcher) download(ctx context.Context, rel, u, part string) (resumed bool, err error) {
	var offset int64
	if st, err := os.Stat(part); err == nil && st.Mode().IsRegular() {
		offset = st.Size()
	}
	body, offset, total, err := f.open(ctx, rel, u, part, offset)
	if err != nil {
		return false, err
	}
	defer body.Close()
	if offset == total && total >= 0 && body == http.NoBody {
		return true, nil // already complete
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if offset > 0 {
		flag = os.O_WRONLY | os.O_APPEND
		f.log.Info("resuming", "path", rel, "url", u, "from", offset)
	} else {
		f.log.Info("downloading", "path", rel, "url", u)
	}
	out, err := os.OpenFile(part, flag, 0o644)
	if err != nil {
		return false, fmt.Errorf("%s: %w", rel, err)
	}
	var w io.Writer = out
	var bar *progressbar.ProgressBar
	if f.opts.Progress {
		bar = progressbar.DefaultBytes(total, rel)
		if offset > 0 {
			bar.Set64(offset)
		}
		w = io.MultiWriter(out, bar)
	}
	n, copyErr := io.Copy(w, ctxReader{ctx, body})
	f.rep.Bytes += n
	if copyErr == nil && total >= 0 && offset+n != total {
		copyErr = fmt.Errorf("got %d of %d bytes: %w", offset+n, total, io.ErrUnexpectedEOF)
	}
	syncErr := out.Sync()
	closeErr := out.Close()
	if bar != nil {
		if copyErr == nil {
			bar.Finish()
		} else {
			bar.Exit()
		}
	}
	if copyErr != nil {
		if ctx.Err() != nil {
			return false, fmt.Errorf("%s: download from %s interrupted; %s kept for resuming: %w", rel, u, part, ctx.Err())
		}
		return false, fmt.Errorf("%s: download from %s failed after %d bytes (%s kept for resuming): %w",
			rel, u, offset+n, part, copyErr)
	}
	if err := errors.Join(syncErr, closeErr); err != nil {
		return false, fmt.Errorf("%s: write %s: %w", rel, part, err)
	}
	return offset > 0, nil
}

// open starts reading u at offset. It returns the body, the offset it really
// starts at (0 when the source ignores the range) and the full size (-1 when
// unknown). A body of http.NoBody with offset == total means part is already
// complete.
func (f *fetcher) open(ctx context.Context, rel, u, part string, offset int64) (io.ReadCloser, int64, int64, error) {
	if !isHTTP(u) {
		return openLocal(rel, localPath(u), offset)
	}
	for retry := 0; ; retry++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s: %w", rel, err)
		}
		req.Header.Set("User-Agent", userAgent)
		req.Header.Set("Accept-Encoding", "identity") // byte offsets of the file itself
		if offset > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		}
		resp, err := f.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, 0, 0, fmt.Errorf("%s: GET %s interrupted: %w", rel, u, ctx.Err())
			}
			return nil, 0, 0, fmt.Errorf("%s: GET %s: %w", rel, u, err)
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			if offset > 0 {
				f.log.Info("server ignored the range request; starting over", "path", rel, "url", u)
			}
			return resp.Body, 0, resp.ContentLength, nil
		case resp.StatusCode == http.StatusPartialContent && offset > 0:
			start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
			if ok && start == offset {
				return resp.Body, offset, total, nil
			}
			resp.Body.Close()
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && offset > 0:
			resp.Body.Close()
			if _, total, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && total == offset {
				return http.NoBody, offset, offset, nil
			}
		default:
			resp.Body.Close()
			return nil, 0, 0, fmt.Errorf("%s: GET %s: HTTP %s", rel, u, resp.Status)
		}
		// Unusable partial reply: drop the .part and ask for the whole file.
		if retry > 0 {
			return nil, 0, 0, fmt.Errorf("%s: GET %s: unusable reply %s to a range request", rel, u, resp.Status)
		}
		f.log.Warn("unusable reply to a range request; starting over", "path", rel, "url", u, "status", resp.Status)
		if err := os.Remove(part); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, 0, 0, fmt.Errorf("%s: %w", rel, err)
		}
		offset = 0
	}
}

// parseContentRange parses "bytes start-end/total" or "bytes */total"
// (start -1); total is -1 when "*".
func parseContentRange(h string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(h, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total = t
	}
	if rng == "*" {
		return -1, total, true
	}
	s, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	st, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return st, total, true
}

func openLocal(rel, p string, offset int64) (io.ReadCloser, int64, int64, error) {
	in, err := os.Open(p)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: open mirror copy: %w", rel, err)
	}
	st, err := in.Stat()
	if err != nil {
		in.Close()
		return nil, 0, 0, fmt.Errorf("%s: %w", rel, err)
	}
	total := st.Size()
	if offset > total {
		offset = 0
	}
	if offset == total && offset > 0 {
		in.Close()
		return http.NoBody, offset, total, nil
	}
	if _, err := in.Seek(offset, io.SeekStart); err != nil {
		in.Close()
		return nil, 0, 0, fmt.Errorf("%s: %w", rel, err)
	}
	return in, offset, total, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func hashFile(p string) (string, error) {
	in, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer in.Close()
	h := sha256.New()
	if _, err := io.Copy(h, in); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// syncDir makes a rename in dir durable; errors are ignored (not every
// platform can sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
