package main

import (
	"bufio"
	"bytes"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// Where the goroutines of the stack running in this process waited, from the block profile
// (channel operations, selects, mutexes): the workflow runner is one goroutine, so its blocked
// time by reason says what it waited for; what is left of the wall time it spent running or in
// system calls (SQLite's fsync among them).

// Block categories.
const (
	runnerSQL      = "runner: waiting for the SQLite writer"
	runnerRPC      = "runner: waiting on a system API call"
	runnerIdle     = "runner: idle, no step due"
	runnerOther    = "runner: other waits"
	consumerSQL    = "event consumers: waiting for the SQLite writer"
	relaySQL       = "outbox relay: waiting for the SQLite writer"
	createSQL      = "return creation: waiting for the SQLite writer"
	relayPublish   = "outbox relay: waiting for JetStream acks"
	blockedUnknown = ""
)

// blockTotals sums the cumulative block profile of this process by category.
func blockTotals() map[string]time.Duration {
	var buf bytes.Buffer
	if p := pprof.Lookup("block"); p == nil || p.WriteTo(&buf, 1) != nil {
		return nil
	}
	out := map[string]time.Duration{}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cyclesPerSec float64
	var cycles float64
	var frames []string
	flush := func() {
		if cycles > 0 && cyclesPerSec > 0 {
			if c := classify(frames); c != blockedUnknown {
				out[c] += time.Duration(cycles / cyclesPerSec * float64(time.Second))
			}
		}
		cycles, frames = 0, frames[:0]
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "cycles/second="):
			cyclesPerSec, _ = strconv.ParseFloat(strings.TrimPrefix(line, "cycles/second="), 64)
		case strings.HasPrefix(line, "#"):
			if f := strings.Fields(line); len(f) >= 3 {
				name, _, _ := strings.Cut(f[2], "+0x")
				frames = append(frames, name)
			}
		case strings.Contains(line, " @ "):
			flush()
			if f := strings.Fields(line); len(f) > 0 {
				cycles, _ = strconv.ParseFloat(f[0], 64)
			}
		}
	}
	flush()
	return out
}

func classify(frames []string) string {
	has := func(s string) bool {
		for _, f := range frames {
			if strings.Contains(f, s) {
				return true
			}
		}
		return false
	}
	// Waiting for SQLite's writer: for its connection, or with the group commit (pkg/store) for
	// the turn on it or for the shared COMMIT.
	sqlWait := has("database/sql.(*DB).conn") || has("pkg/store.(*group).enter") || has("pkg/store.(*DB).runGrouped")
	switch {
	case has("pkg/workflow.(*Engine).Run"), has("pkg/workflow.(*dispatcher)"):
		switch {
		case sqlWait:
			return runnerSQL
		case has("google.golang.org/grpc."):
			return runnerRPC
		case len(frames) >= 2 && strings.HasPrefix(frames[0], "runtime.selectgo") && strings.HasSuffix(frames[1], "pkg/workflow.(*Engine).Run"):
			return runnerIdle
		}
		return runnerOther
	case has("pkg/events.(*Consumer)") && sqlWait:
		return consumerSQL
	case has("pkg/events.(*Relay)") && sqlWait:
		return relaySQL
	case has("pkg/events.(*Relay).publish"):
		return relayPublish
	case has("returns.(*Service).CreateReturn") && sqlWait:
		return createSQL
	}
	return blockedUnknown
}

// blockDelta is after − before, by category.
func blockDelta(before, after map[string]time.Duration) map[string]time.Duration {
	out := map[string]time.Duration{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}
