package gateway

import (
	"bytes"
	"io"
	"net/http"
)

// A request body is read from the connection once, by bodyLimit, and then held: every later
// reader (the document check, the idempotency guard, grpc-gateway) gets the same bytes through
// heldBody instead of reading and copying them again. Readers that know the HeldBody method
// take the bytes without reading at all; others read them as an ordinary body.

// heldBody is a request body already in memory. The bytes are shared: nobody may modify them.
type heldBody struct {
	bytes.Reader
	b []byte
}

var _ io.ReadCloser = (*heldBody)(nil)

func newHeldBody(b []byte) *heldBody {
	h := &heldBody{b: b}
	h.Reset(b)
	return h
}

// Close does nothing: the bytes stay valid for the whole request.
func (*heldBody) Close() error { return nil }

// HeldBody returns the whole body, however much of it has been read.
func (h *heldBody) HeldBody() []byte { return h.b }

// rewind gives r a fresh reader over its held body, and reports whether it had one.
func rewind(r *http.Request) ([]byte, bool) {
	h, ok := r.Body.(*heldBody)
	if !ok {
		return nil, false
	}
	if h.Len() != len(h.b) { // read by someone: hand out a fresh reader, keep theirs as it is
		r.Body = newHeldBody(h.b)
	}
	return h.b, true
}
