package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Every command and verb answers -h and --help with its usage on stdout and no error (exit 0),
// and does nothing else: no data directory appears.
func TestHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	getenv := func(k string) string { return map[string]string{"RB_DATA_DIR": dir}[k] }
	commands := [][]string{
		{}, {"dev"}, {"serve"}, {"check-config"}, {"token"},
		{"dlq"}, {"dlq", "list"}, {"dlq", "show"}, {"dlq", "replay"},
		{"clients"}, {"clients", "create"}, {"clients", "list"}, {"clients", "revoke"},
		{"keys"}, {"keys", "rotate"}, {"keys", "list"}, {"keys", "retire"},
		{"audit"}, {"audit", "list"}, {"audit", "verify"},
	}
	for _, cmd := range commands {
		for _, h := range []string{"--help", "-h", "-help"} {
			args := append(slices.Clone(cmd), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out bytes.Buffer
				if err := run(context.Background(), args, getenv, &out); err != nil {
					t.Fatalf("run(%q) = %v, want nil (exit 0)", args, err)
				}
				if !strings.Contains(out.String(), "Usage") || !strings.Contains(out.String(), "retailbridge "+strings.Join(cmd, " ")) {
					t.Errorf("run(%q) printed %q, want its usage", args, out.String())
				}
			})
		}
	}
	for _, args := range [][]string{{"help"}, {"help", "serve"}, {"help", "dlq"}, {"serve", "gateway", "--help"}, {"dlq", "replay", "7", "--help"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, getenv, &out); err != nil || !strings.Contains(out.String(), "Usage") {
			t.Errorf("run(%q) = %v, %q; want usage and nil", args, err, out.String())
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("--help created the data directory (stat: %v)", err)
	}
}

// Unknown commands, verbs and flags stay usage errors (exit 2).
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	getenv := func(k string) string { return map[string]string{"RB_DATA_DIR": t.TempDir()}[k] }
	for _, args := range [][]string{
		{"frobnicate"}, {"dlq", "frobnicate"}, {"clients", "frobnicate"}, {"keys", "frobnicate"}, {"audit", "frobnicate"},
		{"dlq", "replay", "7", "--frobnicate"}, {"serve", "--frobnicate", "gateway"}, {"serve"}, {"serve", "nosuch"},
		{"check-config", "extra"}, {"dev", "extra"},
	} {
		if err := run(context.Background(), args, getenv, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}

// Flags may follow positional arguments, as the README writes them.
func TestFlagsAfterPositionals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want dlqArgs
	}{
		{"flags after the id", []string{"replay", "7", "--operator", "ana", "--dry-run"},
			dlqArgs{verb: "replay", operator: "ana", dryRun: true, positional: []string{"7"}}},
		{"flags before the id", []string{"replay", "--operator=ana", "-dry-run", "7"},
			dlqArgs{verb: "replay", operator: "ana", dryRun: true, positional: []string{"7"}}},
		{"flags around the id", []string{"replay", "--service", "orders", "7", "--operator", "ana"},
			dlqArgs{verb: "replay", service: "orders", operator: "ana", positional: []string{"7"}}},
		{"bool with value", []string{"replay", "7", "--dry-run=false", "--operator", "ana"},
			dlqArgs{verb: "replay", operator: "ana", positional: []string{"7"}}},
		{"double dash ends flags", []string{"show", "--", "--operator"},
			dlqArgs{verb: "show", positional: []string{"--operator"}}},
		{"list with flags", []string{"list", "--limit", "5", "--consumer", "returns-from-wms"},
			dlqArgs{verb: "list", limit: 5, consumer: "returns-from-wms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDLQ(tc.args, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.service == "" {
				tc.want.service = "returns"
			}
			if tc.want.limit == 0 {
				tc.want.limit = 100
			}
			if got.verb != tc.want.verb || got.service != tc.want.service || got.operator != tc.want.operator ||
				got.dryRun != tc.want.dryRun || got.limit != tc.want.limit || got.consumer != tc.want.consumer ||
				!slices.Equal(got.positional, tc.want.positional) {
				t.Errorf("parseDLQ(%q) = %+v, want %+v", tc.args, got, tc.want)
			}
		})
	}
}

// splitFlags is what every command parses with: known flags and their values go first, the
// rest stays positional in order; with dashPositionals an unknown "-x" is an argument (a key id).
func TestSplitFlags(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("data-dir", "", "")
	fs.Bool("dry-run", false, "")
	for _, tc := range []struct {
		args, flags, positional []string
		dash                    bool
	}{
		{[]string{"-8ejP_Jx"}, nil, []string{"-8ejP_Jx"}, true},
		{[]string{"-8ejP_Jx"}, []string{"-8ejP_Jx"}, nil, false},
		{[]string{"--data-dir", "d", "-8ej"}, []string{"--data-dir", "d"}, []string{"-8ej"}, true},
		{[]string{"-8ej", "-data-dir=d"}, []string{"-data-dir=d"}, []string{"-8ej"}, true},
		{[]string{"a", "--dry-run", "b", "--data-dir", "d", "c"}, []string{"--dry-run", "--data-dir", "d"}, []string{"a", "b", "c"}, false},
		{[]string{"a", "--", "--dry-run"}, nil, []string{"a", "--dry-run"}, false},
		{[]string{"kid", "--help"}, []string{"--help"}, []string{"kid"}, true},
	} {
		flags, positional := splitFlags(fs, tc.args, tc.dash)
		if !slices.Equal(flags, tc.flags) || !slices.Equal(positional, tc.positional) {
			t.Errorf("splitFlags(%q, %v) = %q, %q; want %q, %q", tc.args, tc.dash, flags, positional, tc.flags, tc.positional)
		}
	}
}

// check-config with components says what serve would refuse, before anything starts.
func TestCheckConfigForComponents(t *testing.T) {
	t.Parallel()
	env := map[string]string{"RB_DATA_DIR": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), []string{"check-config", "returns", "gateway"}, getenv, &bytes.Buffer{})
	for _, v := range []string{"NATS_URL", "DATABASE_URL", "REDIS_URL"} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("check-config returns gateway = %v, want %s named", err, v)
		}
	}
	env["NATS_URL"], env["DATABASE_URL"], env["REDIS_URL"] = "nats://n:4222", "postgres://db/rb", "redis://r:6379"
	if err := run(context.Background(), []string{"check-config", "returns", "gateway"}, getenv, &bytes.Buffer{}); err != nil {
		t.Errorf("check-config with the engines set: %v", err)
	}
}
