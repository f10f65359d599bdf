package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// devEnvFile is where `retailbridge dev` writes the addresses of its embedded infrastructure so
// operator commands in another shell find it.
const devEnvFile = "dev.env"

// writeDevEnv records NATS_URL and REDIS_URL of a running dev stack in the data directory.
func writeDevEnv(dataDir, natsURL, redisURL string) error {
	content := fmt.Sprintf("NATS_URL=%s\nREDIS_URL=%s\n", natsURL, redisURL)
	return os.WriteFile(filepath.Join(dataDir, devEnvFile), []byte(content), 0o600)
}

// withDevEnv falls back to the dev stack's recorded addresses for variables not set.
func withDevEnv(dataDir string, getenv func(string) string) func(string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, devEnvFile))
	if err != nil {
		return getenv
	}
	recorded := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			recorded[k] = v
		}
	}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return recorded[k]
	}
}

// runDLQ lists, shows and replays dead letters: `dlq list`, `dlq show ID`,
// `dlq replay ID --operator NAME [--dry-run]`. Every replay, dry runs included, is audited.
func runDLQ(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: dlq list|show ID|replay ID --operator NAME [--dry-run]", errUsage)
	}
	verb, rest := args[0], args[1:]
	fs := flag.NewFlagSet("dlq "+verb, flag.ContinueOnError)
	service := fs.String("service", "returns", "the service whose consumers' dead letters (and audit) to use")
	consumer := fs.String("consumer", "", "list: only this consumer's dead letters")
	limit := fs.Int("limit", 100, "list: at most this many")
	operator := fs.String("operator", "", "replay: who replays (recorded in the audit)")
	dryRun := fs.Bool("dry-run", false, "replay: check and audit, publish nothing")
	dataDir := fs.String("data-dir", "", "data directory (default $RB_DATA_DIR or ./data)")
	if err := fs.Parse(rest); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	dir := *dataDir
	if dir == "" {
		dir = getenv("RB_DATA_DIR")
	}
	if dir == "" {
		dir = "data"
	}
	getenv = withDevEnv(dir, getenv)
	cfg, err := config.Load(func(k string) string {
		if k == "RB_DATA_DIR" {
			return dir
		}
		return getenv(k)
	})
	if err != nil {
		return err
	}
	if cfg.NATSURL == "" {
		return errors.New("NATS_URL is not set and no running dev stack was found in the data directory")
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("retailbridge-dlq"))
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	js = events.WithStreamDefaults(js, events.StreamOptions{Replicas: cfg.StreamReplicas})
	url := cfg.DatabaseURL
	if url == "" {
		url = "sqlite:" + filepath.Join(cfg.DataDir, *service+".db")
	}
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := events.Migrate(ctx, db); err != nil {
		return err
	}
	dl := events.NewDeadLetters(db, js, nil)

	id := func() (uint64, error) {
		if fs.NArg() != 1 {
			return 0, fmt.Errorf("%w: name one dead letter id", errUsage)
		}
		return strconv.ParseUint(fs.Arg(0), 10, 64)
	}
	switch verb {
	case "list":
		letters, err := dl.List(ctx, events.ListOptions{Consumer: *consumer, Limit: *limit})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDEAD AT\tCONSUMER\tEVENT TYPE\tATTEMPTS\tREASON\tCORRELATION")
		for _, d := range letters {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.DeadAt.Format("2006-01-02 15:04:05"), d.Consumer, d.EventType, d.Attempts, d.Reason, d.CorrelationID)
		}
		return tw.Flush()
	case "show":
		n, err := id()
		if err != nil {
			return err
		}
		d, err := dl.Show(ctx, n)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dead letter %d\n  consumer     %s\n  subject      %s (stream %s, seq %d)\n  event        %s %s\n  correlation  %s\n  attempts     %d\n  error        %s (%s, %s, retryable %v)\n  dead at      %s\n",
			d.ID, d.Consumer, d.Subject, d.Stream, d.StreamSeq, d.EventType, d.EventID, d.CorrelationID, d.Attempts, d.Error, d.Kind, d.Reason, d.Retryable, d.DeadAt)
		for _, r := range d.Replays {
			fmt.Fprintf(stdout, "  replay #%d   %s by %s: %s (dry run %v) %s\n", r.Attempt, r.At.Format("2006-01-02 15:04:05"), r.Operator, r.Outcome, r.DryRun, r.Error)
		}
		if js := d.EventJSON(); js != "" {
			fmt.Fprintf(stdout, "event:\n%s\n", js)
		}
		return nil
	case "replay":
		n, err := id()
		if err != nil {
			return err
		}
		if *operator == "" {
			return fmt.Errorf("%w: --operator is required (replays are audited)", errUsage)
		}
		res, err := dl.Replay(ctx, n, *dryRun, *operator)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dead letter %d: %s (attempt %d, subject %s, msg id %s)\n", res.DeadLetterID, res.Outcome, res.Attempt, res.Subject, res.MsgID)
		return nil
	}
	return fmt.Errorf("%w: unknown dlq command %q", errUsage, verb)
}
