package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/audit"
)

// auditUsage documents the audit commands.
const auditUsage = `  retailbridge audit list [--actor A] [--tenant T] [--action "POST /v1/…"] [--since T] [--until T] [--limit N] [--before ID]
                                                              privileged actions, newest first (times RFC 3339)
  retailbridge audit verify                                   walk the hash chain; exit 1 naming the first broken link
`

// auditVerbs are the audit commands' verbs.
var auditVerbs = []subcommand{
	{"list", `list [--actor A] [--tenant T] [--action "POST /v1/…"] [--since T] [--until T] [--limit N] [--before ID]`},
	{"verify", "verify"},
}

// runAudit reads the audit log of privileged actions in the identity database (DATABASE_URL,
// else <data>/identity.db): list or verify.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if done, err := groupHelp("audit", auditVerbs, args, stdout); done {
		return err
	}
	if !slices.ContainsFunc(auditVerbs, func(v subcommand) bool { return v.name == args[0] }) {
		return fmt.Errorf("%w: unknown audit command %q", errUsage, args[0])
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fs := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	var f audit.Filter
	var since, until string
	if args[0] == "list" {
		fs.StringVar(&f.Actor, "actor", "", "only this actor, e.g. support:agent-7 or partner:<client id>")
		fs.StringVar(&f.Tenant, "tenant", "", "only this partner tenant")
		fs.StringVar(&f.Action, "action", "", `only this action, e.g. "POST /v1/support/returns/ret_…:cancel"`)
		fs.StringVar(&since, "since", "", "only actions at or after this time (RFC 3339)")
		fs.StringVar(&until, "until", "", "only actions before this time (RFC 3339)")
		fs.IntVar(&f.Limit, "limit", 100, "entries to print (1..1000)")
		fs.Int64Var(&f.Before, "before", 0, "only entries older than this id (the last id of the previous page)")
	}
	cfg, rest, err := loadConfig(fs, args[1:], getenv, stdout, verbUsage("audit", auditVerbs, args[0],
		"The audit log of privileged actions (append-only, hash-chained): list entries, or verify the chain."))
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: audit %s takes no arguments, got %q", errUsage, args[0], rest)
	}
	for _, tv := range []struct {
		flag, v string
		dst     *time.Time
	}{{"--since", since, &f.Since}, {"--until", until, &f.Until}} {
		if tv.v == "" {
			continue
		}
		if *tv.dst, err = time.Parse(time.RFC3339, tv.v); err != nil {
			return fmt.Errorf("%w: %s must be an RFC 3339 time such as 2026-12-07T10:00:00Z", errUsage, tv.flag)
		}
	}
	if args[0] == "list" && (f.Limit < 1 || f.Limit > 1000) {
		return fmt.Errorf("%w: --limit must be between 1 and 1000", errUsage)
	}
	db, err := stack.OpenIdentityDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	log, err := audit.Open(ctx, db, nil)
	if err != nil {
		return err
	}
	switch args[0] {
	case "list":
		return printAudit(ctx, log, f, stdout)
	case "verify":
		r, err := log.Verify(ctx)
		if err != nil {
			return err
		}
		if r.Broken != nil {
			return fmt.Errorf("the audit chain is broken at entry %d: %s (%d entries before it hold)", r.Broken.Seq, r.Broken.Reason, r.Entries)
		}
		fmt.Fprintf(stdout, "audit chain intact: %d entries, head %s\n", r.Entries, r.Head)
		return nil
	}
	return fmt.Errorf("%w: unknown audit command %q", errUsage, args[0])
}

func printAudit(ctx context.Context, log *audit.Log, f audit.Filter, stdout io.Writer) error {
	entries, err := log.Query(ctx, f)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAT\tACTOR\tTENANT\tACTION\tOUTCOME\tORIGIN\tCORRELATION_ID")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Seq, e.At.Format(time.RFC3339), e.Actor, e.Tenant, e.Action, e.Outcome, e.Origin, e.CorrelationID)
	}
	return tw.Flush()
}
