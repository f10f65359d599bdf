package vendorhttp

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrTooLarge says an answer's body was longer than the connector reads of one answer.
var ErrTooLarge = errors.New("vendor answer body exceeds the read limit")

// ReadBody reads body to its end or to limit bytes. A longer body is not cut silently — a cut
// JSON document would fail to decode with a message that hides why — but yields its first limit
// bytes with an error wrapping ErrTooLarge; the head of an error document is still worth
// reading, so callers classify a non-2xx answer by its status first. Any other error is the
// transport's: the answer was lost part way.
func ReadBody(body io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return data, err
	}
	if int64(len(data)) > limit {
		return data[:limit], fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
	}
	return data, nil
}

// excerptBytes bounds an excerpt: enough to recognise a proxy's error page or a vendor's
// message in a log line, not a whole document.
const excerptBytes = 512

// Excerpt is the start of an error body made safe for one log line: at most 512 bytes, cut on
// a character boundary (with "…" when cut), invalid UTF-8 replaced and control characters
// (newlines included, which would forge log lines in a text log) turned into spaces.
func Excerpt(body []byte) string {
	cut := len(body) > excerptBytes
	if cut {
		body = body[:excerptBytes]
		// Drop a character the cut split in two rather than report it as invalid.
		for i := len(body) - 1; i >= 0 && i >= len(body)-utf8.UTFMax; i-- {
			if utf8.RuneStart(body[i]) {
				if !utf8.FullRune(body[i:]) {
					body = body[:i]
				}
				break
			}
		}
	}
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(body), "\uFFFD"))
	if cut {
		s += "…"
	}
	return s
}
