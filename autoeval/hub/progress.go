package hub

import (
	"fmt"
	"time"
)

// redrawEvery limits how often an interactive progress line is redrawn;
// faster only costs terminal output.
const redrawEvery = 200 * time.Millisecond

// bar reports the progress of one file. It is an io.Writer so it can sit in
// the copy pipeline and count the bytes that pass.
type bar struct {
	c        *Client
	name     string
	total    int64 // size of the file
	resumed  int64 // bytes already on disk when this attempt began
	done     int64 // bytes received in this attempt
	began    time.Time
	lastDraw time.Time
}

func (c *Client) newBar(name string, total, resumed int64) *bar {
	now := c.now()
	return &bar{c: c, name: name, total: total, resumed: resumed, began: now}
}

func (b *bar) Write(p []byte) (int, error) {
	b.done += int64(len(p))
	if b.c.interactive {
		if now := b.c.now(); now.Sub(b.lastDraw) >= redrawEvery {
			b.lastDraw = now
			b.draw(now)
		}
	}
	return len(p), nil
}

// draw rewrites the current terminal line: "\r" returns to its start and
// "\x1b[K" clears what a longer earlier line left behind.
func (b *bar) draw(now time.Time) {
	pct := 100.0
	if b.total > 0 {
		pct = 100 * float64(b.resumed+b.done) / float64(b.total)
	}
	fmt.Fprintf(b.c.progress, "\r\x1b[K%s  %s / %s  %3.0f%%  %s/s", b.name,
		FormatBytes(b.resumed+b.done), FormatBytes(b.total), pct, FormatBytes(int64(b.rate(now))))
	b.c.drawn = true
}

// rate is the bytes per second of this attempt.
func (b *bar) rate(now time.Time) float64 {
	secs := now.Sub(b.began).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(b.done) / secs
}

// finish ends the file's progress: on success one summary line (the only
// line written when not on a terminal); on failure the caller prints why.
func (b *bar) finish(complete bool) {
	now := b.c.now()
	if !complete {
		b.c.endLine()
		return
	}
	resumed := ""
	if b.resumed > 0 {
		resumed = fmt.Sprintf(", resumed at %s", FormatBytes(b.resumed))
	}
	prefix := ""
	if b.c.interactive {
		prefix = "\r\x1b[K"
	}
	fmt.Fprintf(b.c.progress, "%s%s: %s in %s (%s/s%s)\n", prefix, b.name, FormatBytes(b.total),
		now.Sub(b.began).Round(100*time.Millisecond), FormatBytes(int64(b.rate(now))), resumed)
	b.c.drawn = false
}

// endLine moves past an unfinished interactive progress line so that the
// next message starts on its own line.
func (c *Client) endLine() {
	if c.drawn {
		fmt.Fprintln(c.progress)
		c.drawn = false
	}
}

// printf writes a progress message.
func (c *Client) printf(format string, args ...any) {
	fmt.Fprintf(c.progress, format, args...)
}

// FormatBytes renders a byte count in binary units with one decimal, as
// progress lines show it: "351.5 MiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
