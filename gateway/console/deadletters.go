package console

import (
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/retailbridge/retailbridge/docs/runbooks"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
)

// runbookFor names the runbook of a dead letter's failure kind (docs/runbooks).
func runbookFor(kind string) string {
	switch kind {
	case "invalid_argument", "failed_precondition", "invalid", "not_found", "already_exists":
		return "invalid-event"
	case "unavailable", "deadline_exceeded", "resource_exhausted", "aborted":
		return "unavailable"
	}
	return "internal"
}

// maxBulk bounds how many dead letters one bulk replay reads.
const maxBulk = 1000

type dlFilter struct{ Consumer, Reason string }

func filterOf(r *http.Request) dlFilter {
	get := r.URL.Query().Get
	if r.Method == http.MethodPost {
		get = r.PostFormValue
	}
	return dlFilter{Consumer: strings.TrimSpace(get("consumer")), Reason: strings.TrimSpace(get("reason"))}
}

func (f dlFilter) key() string { return f.Consumer + "\x00" + f.Reason }

func (f dlFilter) query() string {
	return url.Values{"consumer": {f.Consumer}, "reason": {f.Reason}}.Encode()
}

// matching lists the dead letters f selects.
func (c *Console) matching(r *http.Request, f dlFilter) ([]events.DeadLetter, error) {
	all, err := c.deps.DeadLetters.List(r.Context(), events.ListOptions{Consumer: f.Consumer, Limit: maxBulk})
	if err != nil {
		return nil, err
	}
	var out []events.DeadLetter
	for _, d := range all {
		if f.Reason == "" || d.Reason == f.Reason || d.Kind == f.Reason {
			out = append(out, d)
		}
	}
	return out, nil
}

type deadLettersData struct {
	Filter  dlFilter
	Letters []events.DeadLetter
	CSRF    string
	// DryRunDone says a bulk dry run of this filter was done in this session.
	DryRunDone bool
	Enabled    bool
}

func (c *Console) deadLetters(r *http.Request, s *session) (string, any, error) {
	if c.deps.DeadLetters == nil {
		return "deadletters", deadLettersData{}, nil
	}
	f := filterOf(r)
	letters, err := c.matching(r, f)
	if err != nil {
		return "", nil, err
	}
	return "deadletters", deadLettersData{Filter: f, Letters: letters, CSRF: s.CSRF, DryRunDone: s.BulkDryRun == f.key(), Enabled: true}, nil
}

type deadLetterData struct {
	D       events.DeadLetter
	Payload string
	Runbook string
	CSRF    string
}

func (c *Console) deadLetter(r *http.Request, s *session) (string, any, error) {
	if c.deps.DeadLetters == nil {
		return "", nil, errs.E(errs.NotFound, "dead_letters_unavailable", "dead-letter triage is not configured on this gateway")
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		return "", nil, errs.E(errs.Invalid, "dead_letter_id", "a dead letter id is a number")
	}
	d, err := c.deps.DeadLetters.Show(r.Context(), id)
	if err != nil {
		return "", nil, err
	}
	payload := d.EventJSON()
	if payload == "" {
		payload = fmt.Sprintf("(the payload does not decode as an event: %d bytes)\n%q", len(d.Payload), truncate(string(d.Payload), 4096))
	}
	return "deadletter", deadLetterData{D: d, Payload: payload, Runbook: runbookFor(d.Kind), CSRF: s.CSRF}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// replay replays one dead letter, or dry-runs it; both are audited (here and in the service's
// replay audit, with the agent's name).
func (c *Console) replay(r *http.Request, s *session) result {
	raw := r.PathValue("id")
	dry := r.PostFormValue("dry_run") == "1"
	res := result{Redirect: "/console/deadletters/" + url.PathEscape(raw), Audit: "replay dead-letter " + raw + map[bool]string{true: " (dry run)", false: ""}[dry]}
	if c.deps.DeadLetters == nil {
		res.Err = errs.E(errs.NotFound, "dead_letters_unavailable", "dead-letter triage is not configured on this gateway")
		return res
	}
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		res.Err = errs.E(errs.Invalid, "dead_letter_id", "a dead letter id is a number")
		return res
	}
	out, err := c.deps.DeadLetters.Replay(r.Context(), id, dry, s.Agent)
	res.Err = err
	res.Flash = fmt.Sprintf("Replay of dead letter %d: %s (subject %s, stream %s).", id, out.Outcome, out.Subject, out.Stream)
	return res
}

// bulkReplay replays every dead letter a filter selects, after a dry run of the same filter in
// the same session: the first press is always a dry run, and the real replay skips dead
// letters already replayed.
func (c *Console) bulkReplay(r *http.Request, s *session) result {
	f := filterOf(r)
	dry := r.PostFormValue("dry_run") == "1"
	res := result{Redirect: "/console/deadletters?" + f.query(),
		Audit: fmt.Sprintf("bulk-replay consumer=%q reason=%q%s", f.Consumer, f.Reason, map[bool]string{true: " (dry run)", false: ""}[dry])}
	if c.deps.DeadLetters == nil {
		res.Err = errs.E(errs.NotFound, "dead_letters_unavailable", "dead-letter triage is not configured on this gateway")
		return res
	}
	if !dry && s.BulkDryRun != f.key() {
		res.Err = errs.E(errs.FailedPrecondition, "dry_run_first", "run a dry run of this selection first")
		return res
	}
	letters, err := c.matching(r, f)
	if err != nil {
		res.Err = err
		return res
	}
	counts := map[string]int{}
	for _, d := range letters {
		if !dry {
			shown, err := c.deps.DeadLetters.Show(r.Context(), d.ID)
			if err == nil && replayedBefore(shown) {
				counts["skipped (replayed before)"]++
				continue
			}
		}
		out, err := c.deps.DeadLetters.Replay(r.Context(), d.ID, dry, s.Agent)
		if err != nil && out.Outcome == "" {
			out.Outcome = "error"
		}
		counts[out.Outcome]++
	}
	s.BulkDryRun = ""
	if dry {
		s.BulkDryRun = f.key()
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	res.Flash = fmt.Sprintf("%s of %d dead letters: %s.", map[bool]string{true: "Dry run", false: "Replay"}[dry], len(letters), strings.Join(parts, ", "))
	return res
}

func replayedBefore(d events.DeadLetter) bool {
	for _, rp := range d.Replays {
		if !rp.DryRun && (rp.Outcome == events.OutcomePublished || rp.Outcome == events.OutcomeDuplicate) {
			return true
		}
	}
	return false
}

type runbookData struct {
	Name, Text string
}

// runbook shows one runbook.
func (c *Console) runbook(r *http.Request, _ *session) (string, any, error) {
	name := r.PathValue("name")
	b, err := fs.ReadFile(runbooks.FS, name+".md")
	if err != nil || strings.ContainsAny(name, "/.") {
		return "", nil, errs.E(errs.NotFound, "runbook_not_found", "there is no runbook "+name)
	}
	return "runbook", runbookData{Name: name, Text: string(b)}, nil
}
