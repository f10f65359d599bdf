package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/config"
)

func TestIdentityCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	getenv := func(k string) string { return map[string]string{"RB_DATA_DIR": dir}[k] }
	cmd := func(f func(*bytes.Buffer) error) string {
		t.Helper()
		var out bytes.Buffer
		if err := f(&out); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		return out.String()
	}
	field := func(out, name string) string {
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				return strings.TrimSpace(v)
			}
		}
		t.Fatalf("no %s in %q", name, out)
		return ""
	}

	created := cmd(func(b *bytes.Buffer) error {
		return runClients(ctx, []string{"create", "--tenant", "acme", "--scopes", "orders:read returns:write", "--name", "ACME"}, getenv, b)
	})
	id, secret := field(created, "client_id"), field(created, "client_secret")
	if list := cmd(func(b *bytes.Buffer) error { return runClients(ctx, []string{"list"}, getenv, b) }); !strings.Contains(list, id) ||
		strings.Contains(list, secret) || !strings.Contains(list, "active") {
		t.Errorf("clients list:\n%s", list)
	}

	cfg, err := config.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	db, err := stack.OpenIdentityDB(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	a, err := stack.OpenIdentity(ctx, cfg, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(tok string) (auth.Principal, error) { return a.Verifier.Verify(strings.TrimSpace(tok)) }

	for _, tc := range []struct {
		args []string
		want auth.Principal
	}{
		{[]string{"--audience", "storefront", "--customer", "7000001"}, auth.Principal{Audience: auth.Storefront, Subject: "7000001"}},
		{[]string{"--audience", "support", "--subject", "agent-1", "--scope", "support:read operator"}, auth.Principal{Audience: auth.Support, Subject: "agent-1"}},
		{[]string{"--audience", "partner", "--client", id, "--scope", "orders:read"}, auth.Principal{Audience: auth.Partner, Subject: id, Tenant: "acme"}},
	} {
		tok := cmd(func(b *bytes.Buffer) error { return runIssueToken(ctx, tc.args, getenv, b) })
		p, err := verify(tok)
		if err != nil || p.Audience != tc.want.Audience || p.Subject != tc.want.Subject || p.Tenant != tc.want.Tenant {
			t.Errorf("token %v → %+v, %v", tc.args, p, err)
		}
	}
	if err := runIssueToken(ctx, []string{"--audience", "partner", "--client", id, "--scope", "operator"}, getenv, &bytes.Buffer{}); err == nil {
		t.Error("minted a partner token beyond the client's scopes")
	}

	before := a.Keyring.Keys()[0].ID
	rotated := cmd(func(b *bytes.Buffer) error { return runKeys([]string{"rotate"}, getenv, b) })
	keys := cmd(func(b *bytes.Buffer) error { return runKeys([]string{"list"}, getenv, b) })
	if !strings.Contains(keys, before) || !strings.Contains(keys, "signing") || !strings.Contains(rotated, "new signing key") {
		t.Errorf("keys list after rotate:\n%s", keys)
	}
	cmd(func(b *bytes.Buffer) error { return runKeys([]string{"retire", before}, getenv, b) })
	if keys := cmd(func(b *bytes.Buffer) error { return runKeys([]string{"list"}, getenv, b) }); !strings.Contains(keys, "retired") {
		t.Errorf("keys list after retire:\n%s", keys)
	}

	cmd(func(b *bytes.Buffer) error { return runClients(ctx, []string{"revoke", id}, getenv, b) })
	if err := runIssueToken(ctx, []string{"--audience", "partner", "--client", id}, getenv, &bytes.Buffer{}); err == nil {
		t.Error("minted a token for a revoked client")
	}
	for _, args := range [][]string{{}, {"create", "--tenant", "acme"}, {"revoke"}, {"frobnicate"},
		{"create", "--tenant", "initech", "--scopes", "orders:read"}, // not in the tenant directory
		{"create", "--tenant", "acme", "--scopes", "orders:reed"},    // not a partner scope
	} {
		if err := runClients(ctx, args, getenv, &bytes.Buffer{}); err == nil {
			t.Errorf("clients %v succeeded", args)
		}
	}
}
