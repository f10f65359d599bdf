package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// machineCPU is the whole machine's CPU time, busy and in all, from the first line of /proc/stat
// (clock ticks of 1/100 s): how much of the machine the measured processes had, next to what
// other work on a shared machine took during the same rounds.
type machineCPU struct{ busy, total time.Duration }

func readMachineCPU() machineCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return machineCPU{}
	}
	var m machineCPU
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		d := time.Duration(n) * 10 * time.Millisecond
		if i >= 8 { // guest and guest_nice are already counted in user and nice
			break
		}
		m.total += d
		if i != 3 && i != 4 { // idle, iowait
			m.busy += d
		}
	}
	return m
}

// machineShare says how busy the machine was between before and after, and how much of that the
// measured processes (servers and wrk, summed over results) used.
func machineShare(before, after machineCPU, results [][]wrkResult) string {
	total := after.total - before.total
	if total <= 0 {
		return "machine CPU accounting unavailable"
	}
	var measured time.Duration
	for _, rs := range results {
		for _, r := range rs {
			measured += r.ServerCPU + r.LoadCPU
		}
	}
	busy := after.busy - before.busy
	return fmt.Sprintf("the machine's CPUs were %.0f %% busy during the rounds: %.0f %% the measured servers and wrk, %.0f %% other work",
		100*busy.Seconds()/total.Seconds(), 100*measured.Seconds()/total.Seconds(), 100*max(busy-measured, 0).Seconds()/total.Seconds())
}

// loadAverageNow is /proc/loadavg's three figures.
func loadAverageNow() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}
