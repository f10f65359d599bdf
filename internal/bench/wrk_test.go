package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A short smoke of the benchmark's own measuring (make test runs it; make bench runs the
// benchmark): the OS accounting it reads, the summary it parses and the script it writes. When
// wrk is installed, the script runs for one second against a bare handler and every request
// succeeds (a script that sent no Host header answered 400 to every request once).
func TestProcCPUReadsTheOSAccounting(t *testing.T) {
	t.Parallel()
	before := procCPU(os.Getpid())
	x := 0
	for i := 0; procCPU(os.Getpid()) == before && i < 1e10; i++ {
		x += i // burn CPU until the kernel's accounting moves (a 10 ms tick)
	}
	if after := procCPU(os.Getpid()); after <= before {
		t.Errorf("CPU time did not move: %v then %v", before, after)
	}
	if procCPU(-1) != 0 {
		t.Errorf("a process that does not exist has CPU time")
	}
}

func TestParseWrkSummary(t *testing.T) {
	t.Parallel()
	out := "Running 1s test @ http://x\n" + `{"requests":1200,"duration_us":1000000,"non2xx":3,"socket_errors":1,"p50_us":800,"p99_us":4100}` + "\n"
	var r wrkResult
	if err := parseWrkSummary(out, &r); err != nil {
		t.Fatal(err)
	}
	if r.Requests != 1200 || r.Non2xx != 3 || r.SocketErrors != 1 || r.P50 != 800*time.Microsecond ||
		r.P99 != 4100*time.Microsecond || r.rps() != 1200 {
		t.Errorf("parsed %+v", r)
	}
	if err := parseWrkSummary("wrk: connection refused", &r); err == nil {
		t.Errorf("a run without a summary parsed")
	}
}

func TestWrkScriptRunsWhenWrkIsInstalled(t *testing.T) {
	t.Parallel()
	script, err := wrkScript(t.TempDir(), "smoke", []wrkRequest{
		{Method: "POST", Path: "/bare", Token: `tok"en`, Body: `{"order_id":"5100001"}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(script)
	if !strings.Contains(string(b), "init = function") || !strings.Contains(string(b), `Bearer tok\"en`) {
		t.Fatalf("script does not format requests in init or quote the token:\n%s", b)
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk is not installed (scripts/bench.sh installs it)")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: bareHandler()}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	r, err := runWrk("http://"+lis.Addr().String(), script, 1, 2, time.Second, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.Non2xx != 0 || r.SocketErrors != 0 {
		t.Errorf("wrk against the bare handler: %+v; want requests and no errors", r)
	}
}

func TestMachineCPUReadsTheOSAccounting(t *testing.T) {
	t.Parallel()
	before := readMachineCPU()
	if before.total <= 0 || before.busy <= 0 || before.busy > before.total {
		t.Fatalf("machine CPU %+v; want busy within a positive total", before)
	}
	after := before
	after.total += 10 * time.Second
	after.busy += 6 * time.Second
	got := machineShare(before, after, [][]wrkResult{{{ServerCPU: 2 * time.Second, LoadCPU: time.Second}}})
	if want := "60 % busy during the rounds: 30 % the measured servers and wrk, 30 % other work"; !strings.Contains(got, want) {
		t.Errorf("got %q; want it to say %q", got, want)
	}
}
