package grpcx

import (
	"context"
	"net"
	"sync/atomic"

	"google.golang.org/grpc/test/bufconn"
)

// InProcess is a listener for clients in the same process: a server serves it next to its TCP
// listener, and a client of a service started in its own process dials it (DialDeps.InProcess)
// instead of looping through the kernel's TCP stack. Unary calls to the methods the server
// registered are then made directly, without serialising (direct.go); everything else is the
// same gRPC — HTTP/2 framing, metadata, deadlines, the same interceptors and stats handlers on
// both sides — over an in-memory pipe. On a loopback socket every flush of a message was a write
// system call that also ran the receiving side's network stack: about a tenth of the CPU of a
// warm eligibility check, for one hop.
type InProcess struct {
	lis    *inProcessListener
	server atomic.Pointer[Server] // set while a Server serves Listener
}

// inProcessListener lets Server.Serve find the InProcess it serves.
type inProcessListener struct {
	*bufconn.Listener
	p *InProcess
}

// inProcessBuffer is each direction's buffer per connection; HTTP/2 flow control bounds what is
// in flight anyway.
const inProcessBuffer = 1 << 20

// NewInProcess returns an in-process listener.
func NewInProcess() *InProcess {
	p := &InProcess{}
	p.lis = &inProcessListener{Listener: bufconn.Listen(inProcessBuffer), p: p}
	return p
}

// Listener is what the server serves.
func (p *InProcess) Listener() net.Listener { return p.lis }

// Dial opens a connection to the server; it is DialDeps.Dialer's shape.
func (p *InProcess) Dial(ctx context.Context, _ string) (net.Conn, error) {
	return p.lis.DialContext(ctx)
}
