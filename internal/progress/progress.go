// Package progress shows progress bars for long work on a terminal and
// stays silent when output goes to a pipe, a file or CI.
package progress

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar reports progress; a nil *Bar is valid and does nothing.
type Bar struct{ b *progressbar.ProgressBar }

// Enabled reports whether w is an interactive terminal outside CI.
func Enabled(w io.Writer) bool {
	if os.Getenv("CI") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New returns a bar of total steps drawn on w, or nil when w is not a
// terminal (see Enabled). total < 0 draws a spinner with a count.
func New(w io.Writer, total int, label string) *Bar {
	if !Enabled(w) {
		return nil
	}
	return &Bar{progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("it"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// Set moves the bar to n.
func (b *Bar) Set(n int) {
	if b != nil {
		_ = b.b.Set(n)
	}
}

// Finish clears the bar.
func (b *Bar) Finish() {
	if b != nil {
		_ = b.b.Finish()
	}
}
