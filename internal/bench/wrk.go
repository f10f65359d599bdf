package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The HTTP load comes from wrk (Debian's package, C, epoll; scripts/bench.sh installs it), an
// external generator that needs about a tenth of the CPU per request a Go client does, so the
// bare handler's baseline is bounded by the handler and the machine, not by the load generator.
// Its CPU per request is reported next to every server's, measured the same way.

// wrkRequest is one request of a target set: wrk picks one at random per request.
type wrkRequest struct {
	Method, Path, Token, Body string
}

// wrkResult is one wrk run with the OS's CPU accounting of the server and of wrk.
type wrkResult struct {
	Requests, Non2xx, SocketErrors int64
	Elapsed                        time.Duration
	P50, P99                       time.Duration
	// ServerCPU and LoadCPU are user+system CPU time the server process and wrk used during the
	// run, from /proc/<pid>/stat.
	ServerCPU, LoadCPU time.Duration
}

func (r wrkResult) rps() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// cpuPerRequest is CPU time per request in milliseconds.
func cpuPerRequest(cpu time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / 1000 / float64(n)
}

// wrkScript writes the Lua script that sends reqs at random and prints the summary as JSON.
func wrkScript(dir, name string, reqs []wrkRequest) (string, error) {
	var b strings.Builder
	// The requests are formatted in init: only then does wrk's table carry the Host header.
	b.WriteString("local reqs = {}\ninit = function(args)\n")
	for _, r := range reqs {
		headers := "{}"
		if r.Token != "" || r.Body != "" {
			var h []string
			if r.Token != "" {
				h = append(h, fmt.Sprintf("[\"Authorization\"]=%q", "Bearer "+r.Token))
			}
			if r.Body != "" {
				h = append(h, `["Content-Type"]="application/json"`)
			}
			headers = "{" + strings.Join(h, ",") + "}"
		}
		body := "nil"
		if r.Body != "" {
			body = strconv.Quote(r.Body)
		}
		fmt.Fprintf(&b, "table.insert(reqs, wrk.format(%q, %q, %s, %s))\n", r.Method, r.Path, headers, body)
	}
	b.WriteString(`end
math.randomseed(os.time())
request = function() return reqs[math.random(#reqs)] end
done = function(summary, latency, requests)
  io.write(string.format('{"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`)
	path := filepath.Join(dir, name+".lua")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// runWrk drives url's server (serverPID) with script for d at conns connections over threads
// threads.
func runWrk(url, script string, threads, conns int, d time.Duration, serverPID int) (wrkResult, error) {
	cmd := exec.Command("wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", int(d.Seconds())),
		"--timeout", "10s", "-s", script, url)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	before := procCPU(serverPID)
	if err := cmd.Start(); err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w (scripts/bench.sh installs it)", err)
	}
	err := cmd.Wait()
	after := procCPU(serverPID)
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, stderr.String())
	}
	var res wrkResult
	res.ServerCPU = after - before
	res.LoadCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if err := parseWrkSummary(out.String(), &res); err != nil {
		return wrkResult{}, err
	}
	return res, nil
}

// parseWrkSummary reads the JSON line the script's done() prints last.
func parseWrkSummary(out string, res *wrkResult) error {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum struct {
		Requests     int64 `json:"requests"`
		DurationUS   int64 `json:"duration_us"`
		Non2xx       int64 `json:"non2xx"`
		SocketErrors int64 `json:"socket_errors"`
		P50US        int64 `json:"p50_us"`
		P99US        int64 `json:"p99_us"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		return fmt.Errorf("wrk summary: %w: %s", err, out)
	}
	res.Requests, res.Non2xx, res.SocketErrors = sum.Requests, sum.Non2xx, sum.SocketErrors
	res.Elapsed = time.Duration(sum.DurationUS) * time.Microsecond
	res.P50, res.P99 = time.Duration(sum.P50US)*time.Microsecond, time.Duration(sum.P99US)*time.Microsecond
	return nil
}

// procCPU is the user+system CPU time pid has used so far (/proc/<pid>/stat fields 14 and 15,
// in clock ticks of 1/100 s on Linux).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count fields after its closing parenthesis.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
