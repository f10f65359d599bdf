package gateway

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// pipelinedRedis is the limiter's Redis client: the EVALSHA calls of requests decided at the
// same time go to Redis together, as one pipeline (one write and one read on the connection
// for all of them), instead of one round trip each. With REDIS_URL the rate limit's round trip
// was the largest single cost of a warm check (a sixth of its CPU, most of it the socket's
// system calls on both ends). Each call is still its own EVALSHA of the GCRA script on its own
// key, run by Redis one after another in arrival order, so every decision is the one a lone
// round trip would have got; a call waits at most for the pipeline in flight before it (no
// timer: calls that arrive while a pipeline is on the wire form the next one).
type pipelinedRedis struct {
	*redis.Client

	mu       sync.Mutex
	queue    []*evalCall
	inFlight int // pipelines on the wire, at most maxPipelines

	pipelines, calls atomic.Int64 // for tests and the benchmark: calls per pipeline
}

// maxPipelines is how many pipelines may be on the wire at once: two, so a call never waits
// behind more than one round trip, while calls arriving meanwhile still share.
const maxPipelines = 2

// evalCall is one EVALSHA waiting for its pipeline.
type evalCall struct {
	sha  string
	keys []string
	args []any
	cmd  *redis.Cmd
	done chan struct{}
}

func newPipelinedRedis(rdb *redis.Client) *pipelinedRedis { return &pipelinedRedis{Client: rdb} }

// EvalSha queues the call for the next pipeline, sending it at once when fewer than
// maxPipelines are on the wire, and waits for its answer or ctx.
func (p *pipelinedRedis) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	c := &evalCall{sha: sha, keys: keys, args: args, done: make(chan struct{})}
	p.mu.Lock()
	p.queue = append(p.queue, c)
	var batch []*evalCall
	if p.inFlight < maxPipelines {
		p.inFlight++
		batch, p.queue = p.queue, nil
	}
	p.mu.Unlock()
	if batch != nil {
		p.send(ctx, batch)
	}
	select {
	case <-c.done:
		return c.cmd
	case <-ctx.Done():
		cmd := redis.NewCmd(ctx, "evalsha", sha)
		cmd.SetErr(ctx.Err())
		return cmd
	}
}

// send writes batch as one pipeline within the sender's deadline and answers every call; calls
// queued meanwhile are sent next, by a goroutine of their own, so the sender returns with its
// answer.
func (p *pipelinedRedis) send(ctx context.Context, batch []*evalCall) {
	p.pipelines.Add(1)
	p.calls.Add(int64(len(batch)))
	// The calls share the round trip, so one caller's cancellation must not fail the others':
	// the sender's deadline (the limiter's round-trip budget) bounds it, not its cancellation.
	pctx := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		pctx, cancel = context.WithDeadline(pctx, dl)
		defer cancel()
	}
	pipe := p.Client.Pipeline()
	for _, c := range batch {
		c.cmd = pipe.EvalSha(pctx, c.sha, c.keys, c.args...)
	}
	_, _ = pipe.Exec(pctx) // each command carries its own error
	for _, c := range batch {
		close(c.done)
	}
	p.mu.Lock()
	next := p.queue
	p.queue = nil
	if len(next) == 0 {
		p.inFlight--
	}
	p.mu.Unlock()
	if len(next) > 0 {
		go func() {
			// Its own budget: the calls queued after the sender's have their own deadlines.
			ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
			defer cancel()
			p.send(ctx, next)
		}()
	}
}
