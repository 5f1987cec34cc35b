// Package progress reports the progress of long work: a progress bar (schollz/progressbar) when stderr is a
// terminal, otherwise a log line at every tenth of the work, so logs of batch jobs stay readable.
package progress

import (
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar counts completed units of work.
type Bar struct {
	total, done, nextLog int
	desc                 string
	bar                  *progressbar.ProgressBar
	start                time.Time
}

// New starts reporting total units of work. A nil *Bar (from Disabled) is valid and reports nothing.
func New(total int, desc string) *Bar {
	b := &Bar{total: total, desc: desc, start: time.Now(), nextLog: max(1, total/10)}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		b.bar = progressbar.NewOptions(total, progressbar.OptionSetDescription(desc), progressbar.OptionShowCount(),
			progressbar.OptionSetWriter(os.Stderr), progressbar.OptionThrottle(250*time.Millisecond),
			progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
	}
	return b
}

// Add records n more units done.
func (b *Bar) Add(n int) {
	if b == nil {
		return
	}
	b.done += n
	if b.bar != nil {
		_ = b.bar.Add(n)
		return
	}
	if b.done >= b.nextLog || b.done == b.total {
		slog.Info(b.desc, "done", b.done, "of", b.total, "elapsed", time.Since(b.start).Round(time.Second).String())
		for b.nextLog <= b.done {
			b.nextLog += max(1, b.total/10)
		}
	}
}

// Describe changes the description (e.g. to show a running loss).
func (b *Bar) Describe(desc string) {
	if b == nil {
		return
	}
	b.desc = desc
	if b.bar != nil {
		b.bar.Describe(desc)
	}
}

// Finish closes the bar.
func (b *Bar) Finish() {
	if b != nil && b.bar != nil {
		_ = b.bar.Finish()
	}
}
