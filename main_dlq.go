package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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

// dlqVerbs are the dead-letter commands.
var dlqVerbs = []subcommand{
	{"list", "list [--consumer NAME] [--limit N] [--service NAME]"},
	{"show", "show ID [--service NAME]"},
	{"replay", "replay ID --operator NAME [--dry-run] [--service NAME]"},
}

// dlqArgs is a parsed dlq command line.
type dlqArgs struct {
	verb, service, consumer, operator, dataDir string
	limit                                      int
	dryRun                                     bool
	positional                                 []string
}

// parseDLQ reads `dlq VERB [ID] [flags]`, flags before or after the id.
func parseDLQ(args []string, stdout io.Writer) (dlqArgs, error) {
	if done, err := groupHelp("dlq", dlqVerbs, args, stdout); done {
		return dlqArgs{}, err
	}
	a := dlqArgs{verb: args[0]}
	i := slices.IndexFunc(dlqVerbs, func(v subcommand) bool { return v.name == a.verb })
	if i < 0 {
		return a, fmt.Errorf("%w: unknown dlq command %q (list, show, replay)", errUsage, a.verb)
	}
	fs := flag.NewFlagSet("dlq "+a.verb, flag.ContinueOnError)
	fs.StringVar(&a.service, "service", "returns", "the service whose consumers' dead letters (and audit) to use")
	fs.StringVar(&a.consumer, "consumer", "", "list: only this consumer's dead letters")
	fs.IntVar(&a.limit, "limit", 100, "list: at most this many")
	fs.StringVar(&a.operator, "operator", "", "replay: who replays (recorded in the audit)")
	fs.BoolVar(&a.dryRun, "dry-run", false, "replay: check and audit, publish nothing")
	fs.StringVar(&a.dataDir, "data-dir", "", "data directory (default $RB_DATA_DIR or ./data)")
	var err error
	a.positional, err = parseFlags(fs, args[1:], stdout, usageText{line: "dlq " + dlqVerbs[i].line,
		about: "Dead letters: list them, show one with its event and replays, or replay one (audited, dry runs included)."})
	return a, err
}

// runDLQ lists, shows and replays dead letters: `dlq list`, `dlq show ID`,
// `dlq replay ID --operator NAME [--dry-run]`. Every replay, dry runs included, is audited.
func runDLQ(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	a, err := parseDLQ(args, stdout)
	if err != nil {
		return err
	}
	dl, closeAll, err := openDeadLetters(ctx, a, getenv)
	if err != nil {
		return err
	}
	defer closeAll()
	return a.exec(ctx, dl, stdout)
}

// openDeadLetters connects to the bus and the service's database the dead letters live in: the
// configured ones, or those a running dev stack recorded in the data directory.
func openDeadLetters(ctx context.Context, a dlqArgs, getenv func(string) string) (*events.DeadLetters, func(), error) {
	dir := a.dataDir
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
		return nil, nil, err
	}
	if cfg.NATSURL == "" {
		return nil, nil, errors.New("NATS_URL is not set and no running dev stack was found in the data directory")
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("retailbridge-dlq"))
	if err != nil {
		return nil, nil, fmt.Errorf("nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	js = events.WithStreamDefaults(js, events.StreamOptions{Replicas: cfg.StreamReplicas})
	url := cfg.DatabaseURL
	if url == "" {
		url = "sqlite:" + filepath.Join(cfg.DataDir, a.service+".db")
	}
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	closeAll := func() { _ = db.Close(); nc.Close() }
	if err := events.Migrate(ctx, db); err != nil {
		closeAll()
		return nil, nil, err
	}
	return events.NewDeadLetters(db, js, nil), closeAll, nil
}

// exec runs the parsed command against the dead letters.
func (a dlqArgs) exec(ctx context.Context, dl *events.DeadLetters, stdout io.Writer) error {
	id := func() (uint64, error) {
		if len(a.positional) != 1 {
			return 0, fmt.Errorf("%w: name one dead letter id", errUsage)
		}
		n, err := strconv.ParseUint(a.positional[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: dead letter id %q is not a number", errUsage, a.positional[0])
		}
		return n, nil
	}
	switch a.verb {
	case "list":
		if len(a.positional) > 0 {
			return fmt.Errorf("%w: dlq list takes no arguments, got %q", errUsage, a.positional)
		}
		letters, err := dl.List(ctx, events.ListOptions{Consumer: a.consumer, Limit: a.limit})
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
		if a.operator == "" {
			return fmt.Errorf("%w: --operator is required (replays are audited)", errUsage)
		}
		res, err := dl.Replay(ctx, n, a.dryRun, a.operator)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dead letter %d: %s (attempt %d, subject %s, msg id %s)\n", res.DeadLetterID, res.Outcome, res.Attempt, res.Subject, res.MsgID)
		return nil
	}
	return fmt.Errorf("%w: unknown dlq command %q", errUsage, a.verb)
}
