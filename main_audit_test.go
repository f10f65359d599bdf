package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/audit"
	"github.com/retailbridge/retailbridge/pkg/config"
)

func TestAuditCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	getenv := func(k string) string { return map[string]string{"RB_DATA_DIR": dir}[k] }
	cfg, err := config.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	db, err := stack.OpenIdentityDB(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	log, err := audit.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, actor := range []string{"support:agent-1", "support:agent-2", "support:agent-1"} {
		if _, err := log.Append(ctx, audit.Entry{Actor: actor, Action: "POST /v1/support/returns/r:cancel", Outcome: 200, CorrelationID: "c-" + actor}); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := runAudit(ctx, []string{"list", "--actor", "support:agent-1"}, getenv, &out); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 3 || strings.Contains(out.String(), "agent-2") {
		t.Errorf("audit list --actor support:agent-1:\n%s", out.String())
	}
	out.Reset()
	if err := runAudit(ctx, []string{"verify"}, getenv, &out); err != nil || !strings.Contains(out.String(), "intact: 3 entries") {
		t.Errorf("audit verify: %v %s", err, out.String())
	}
	if _, err := db.Exec(ctx, `DROP TRIGGER rb_audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE rb_audit_log SET outcome = 500 WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if err := runAudit(ctx, []string{"verify"}, getenv, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "entry 2") {
		t.Errorf("audit verify of a tampered log: %v", err)
	}
	for _, args := range [][]string{{}, {"list", "--since", "yesterday"}, {"list", "--limit", "0"}, {"frobnicate"}} {
		if err := runAudit(ctx, args, getenv, &bytes.Buffer{}); err == nil {
			t.Errorf("audit %v succeeded", args)
		}
	}
}
