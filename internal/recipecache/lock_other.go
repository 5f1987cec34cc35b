//go:build !unix

package recipecache

import (
	stdctx "context"
	"errors"
	"io/fs"
	"os"
	"time"
)

// lock creates path exclusively, polling while another builder holds it. Without flock a crashed builder leaves
// the file behind: one older than a day is taken as stale.
func lock(ctx stdctx.Context, path string, waiting func()) (unlock func(), err error) {
	told := false
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_ = f.Close()
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if st, serr := os.Stat(path); serr == nil && time.Since(st.ModTime()) > 24*time.Hour {
			_ = os.Remove(path)
			continue
		}
		if !told {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
