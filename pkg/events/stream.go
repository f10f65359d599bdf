package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SubjectPrefix starts every Retailbridge event subject.
const SubjectPrefix = "retailbridge."

// DeadLetterStream is the stream holding dead letters, on subjects "retailbridge.dlq.<consumer>".
const DeadLetterStream = "RETAILBRIDGE_DLQ"

const deadLetterDomain = "dlq"

// DefaultDuplicateWindow is how long JetStream remembers Nats-Msg-Id values. A relay that crashed
// after publishing and restarts within the window has its republished copies dropped by the broker;
// later copies are dropped by consumers' inboxes.
const DefaultDuplicateWindow = 2 * time.Minute

// StreamOptions tune a stream. The zero value gives file storage, one replica (or the replicas
// of WithStreamDefaults), the default duplicate window and no limits.
//
// Every value is a floor, never a ceiling: an existing stream that is already stronger (more
// replicas, a longer window, longer or larger limits) keeps its value; see EnsureStream.
type StreamOptions struct {
	// Duplicates is the deduplication window. Default DefaultDuplicateWindow.
	Duplicates time.Duration
	// MaxAge drops messages older than this; zero keeps them until a size limit or a purge.
	MaxAge time.Duration
	// MaxMsgs and MaxBytes cap the stream; zero means no cap.
	MaxMsgs, MaxBytes int64
	// Replicas is the number of copies in a cluster. Default 1.
	Replicas int
}

// withDefaults fills the zero fields of o from d, then from the package defaults.
func (o StreamOptions) withDefaults(d StreamOptions) StreamOptions {
	if o.Duplicates <= 0 {
		o.Duplicates = d.Duplicates
	}
	if o.Duplicates <= 0 {
		o.Duplicates = DefaultDuplicateWindow
	}
	if o.MaxAge == 0 {
		o.MaxAge = d.MaxAge
	}
	if o.MaxMsgs == 0 {
		o.MaxMsgs = d.MaxMsgs
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = d.MaxBytes
	}
	if o.Replicas <= 0 {
		o.Replicas = d.Replicas
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	return o
}

// configured is a JetStream handle that carries the deployment's stream options.
type configured struct {
	jetstream.JetStream
	opts     StreamOptions
	horizons map[string]time.Duration
}

// WithStreamDefaults returns js carrying opts (typically Replicas from RB_STREAM_REPLICAS): every
// stream and key-value bucket this package creates or ensures through the returned handle takes
// them where the call leaves a field zero — including the streams Publish and Watch create on
// first use, so no path creates a weaker stream than the deployment asks for.
func WithStreamDefaults(js jetstream.JetStream, opts StreamOptions) jetstream.JetStream {
	c := &configured{JetStream: js}
	if old, ok := js.(*configured); ok {
		*c = *old
	}
	c.opts = opts
	return c
}

// streamDefaults returns the options js carries, or none.
func streamDefaults(js jetstream.JetStream) StreamOptions {
	if c, ok := js.(*configured); ok {
		return c.opts
	}
	return StreamOptions{}
}

// StreamName returns the name of domain's stream, for example RETAILBRIDGE_RETURNS.
func StreamName(domain string) string {
	return "RETAILBRIDGE_" + strings.ToUpper(strings.ReplaceAll(domain, "-", "_"))
}

// DomainSubjects returns the subjects domain's stream captures: "retailbridge.<domain>.>".
func DomainSubjects(domain string) string { return SubjectPrefix + domain + ".>" }

// DeadLetterSubject returns the subject dead letters of consumer are published on.
func DeadLetterSubject(consumer string) string {
	return SubjectPrefix + deadLetterDomain + "." + consumer
}

// EnsureStream creates domain's event stream, or brings an existing one up to opts, and returns
// it. It never weakens a stream: a stream with more replicas, a longer duplicate window or
// longer or larger limits than opts keeps them (several services with different settings may
// ensure the same stream), what is weaker is raised, and a difference that cannot be reconciled
// safely (another retention policy or storage type) is an error naming the field and both
// values, so that a service stops instead of running against a stream it does not understand.
func EnsureStream(ctx context.Context, js jetstream.JetStream, domain string, opts StreamOptions) (jetstream.Stream, error) {
	if !validToken(domain) || domain == deadLetterDomain {
		return nil, fmt.Errorf("events: invalid domain %q", domain)
	}
	return ensure(ctx, js, StreamName(domain), DomainSubjects(domain), "Retailbridge "+domain+" events", opts)
}

// EnsureDeadLetterStream creates the dead-letter stream, or brings it up to opts as EnsureStream
// does, and returns it. Keep MaxAge zero unless operators have another record of what was dropped.
func EnsureDeadLetterStream(ctx context.Context, js jetstream.JetStream, opts StreamOptions) (jetstream.Stream, error) {
	return ensure(ctx, js, DeadLetterStream, SubjectPrefix+deadLetterDomain+".>",
		"Retailbridge dead letters: events a consumer gave up on, with the reason", opts)
}

func ensure(ctx context.Context, js jetstream.JetStream, name, subjects, desc string, opts StreamOptions) (jetstream.Stream, error) {
	opts = opts.withDefaults(streamDefaults(js))
	want := jetstream.StreamConfig{
		Name:        name,
		Description: desc,
		Subjects:    []string{subjects},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Duplicates:  opts.Duplicates,
		MaxAge:      opts.MaxAge,
		MaxMsgs:     unlimitedIfZero(opts.MaxMsgs),
		MaxBytes:    unlimitedIfZero(opts.MaxBytes),
		Replicas:    opts.Replicas,
	}
	// Two services may start at once: a create that lost the race reads the winner's stream. A
	// cluster that is still placing a replicated stream (a new cluster, a leader election) may not
	// answer one request in time; each attempt is bounded and repeated while ctx lasts, which is
	// safe because every attempt first reads what a previous one may have made.
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ensurePatience)
		defer cancel()
	}
	races := 0
	for {
		s, err := ensureOnce(ctx, js, want)
		switch {
		case err == nil:
			return s, nil
		case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) && races < 3:
			races++
			continue
		case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse):
			return nil, fmt.Errorf("events: ensure stream %s: it keeps being created and deleted concurrently", name)
		case retryableAPIError(err) && ctx.Err() == nil:
			select {
			case <-ctx.Done():
			case <-time.After(ensureRetryPause):
			}
			if ctx.Err() == nil {
				continue
			}
		}
		return nil, fmt.Errorf("events: ensure stream %s: %w", name, err)
	}
}

// ensureAttempt bounds one JetStream API round of ensure, ensureRetryPause separates rounds, and
// ensurePatience bounds them all when the caller's context has no deadline (a service starting):
// a bus that never answers stops the service with the error rather than hanging it.
const (
	ensureAttempt    = 10 * time.Second
	ensureRetryPause = 250 * time.Millisecond
	ensurePatience   = 2 * time.Minute
)

func ensureOnce(parent context.Context, js jetstream.JetStream, want jetstream.StreamConfig) (jetstream.Stream, error) {
	ctx, cancel := context.WithTimeout(parent, ensureAttempt)
	defer cancel()
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return js.CreateStream(ctx, want)
	}
	if err != nil {
		return nil, err
	}
	return strengthenStream(ctx, js, s, want)
}

// retryableAPIError reports whether a JetStream API call failed for want of an answer (a
// timeout, nobody listening yet) rather than being refused: asking again may succeed.
func retryableAPIError(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders)
}

// strengthenStream updates s to the stronger of its configuration and want, or leaves it alone
// when it is at least as strong.
func strengthenStream(ctx context.Context, js jetstream.JetStream, s jetstream.Stream, want jetstream.StreamConfig) (jetstream.Stream, error) {
	have := s.CachedInfo().Config
	merged, changed, err := Strengthen(have, want)
	if err != nil || !changed {
		return s, err
	}
	return js.UpdateStream(ctx, merged)
}

// Strengthen returns the configuration of an existing stream (have) raised to what a service
// needs (want), and whether anything changed. It never lowers a value: replicas, duplicate window
// and limits keep the larger of the two (no limit counting as the largest), subjects are the
// union, and everything the service has no opinion on (discard policy, placement, sources,
// deny-delete, …) stays as the operator set it. Retention and storage cannot be reconciled
// without losing messages or rebuilding the stream, so a difference there is an error naming the
// field and both values.
func Strengthen(have, want jetstream.StreamConfig) (jetstream.StreamConfig, bool, error) {
	var bad []string
	if have.Retention != want.Retention {
		bad = append(bad, fmt.Sprintf("retention is %q, this service needs %q", lower(have.Retention), lower(want.Retention)))
	}
	if have.Storage != want.Storage {
		bad = append(bad, fmt.Sprintf("storage is %q, this service needs %q", lower(have.Storage), lower(want.Storage)))
	}
	if len(bad) > 0 {
		return have, false, fmt.Errorf("stream %s: %s; refusing to change it (that would drop or rebuild its messages): "+
			"migrate the stream by hand or remove it", have.Name, strings.Join(bad, "; "))
	}
	out := have
	out.Subjects = unionSubjects(have.Subjects, want.Subjects)
	out.Replicas = max(have.Replicas, want.Replicas)
	out.Duplicates = max(have.Duplicates, want.Duplicates)
	out.MaxAge = longer(have.MaxAge, want.MaxAge)
	out.MaxMsgs = longer(have.MaxMsgs, want.MaxMsgs)
	out.MaxBytes = longer(have.MaxBytes, want.MaxBytes)
	changed := !slices.Equal(out.Subjects, have.Subjects) || out.Replicas != have.Replicas || out.Duplicates != have.Duplicates ||
		out.MaxAge != have.MaxAge || out.MaxMsgs != have.MaxMsgs || out.MaxBytes != have.MaxBytes
	return out, changed, nil
}

// longer returns the larger of two limits where zero or negative means "no limit".
func longer[T time.Duration | int64](a, b T) T {
	if a <= 0 {
		return a
	}
	if b <= 0 {
		return b
	}
	return max(a, b)
}

func unlimitedIfZero(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

func lower(v fmt.Stringer) string { return strings.ToLower(v.String()) }

// unionSubjects adds the wanted subjects to a stream's: a wanted wildcard replaces the subjects it
// covers (JetStream refuses overlapping subjects in one stream), and a wanted subject an existing
// one already covers is not added.
func unionSubjects(have, want []string) []string {
	out := slices.Clone(have)
	for _, w := range want {
		if slices.ContainsFunc(out, func(h string) bool { return subjectCovers(h, w) }) {
			continue
		}
		out = slices.DeleteFunc(out, func(h string) bool { return subjectCovers(w, h) })
		out = append(out, w)
	}
	return out
}

// subjectCovers reports whether every subject matched by sub is matched by pattern.
func subjectCovers(pattern, sub string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(sub, ".")
	for i, tok := range p {
		switch {
		case tok == ">":
			return i < len(s)
		case i >= len(s):
			return false
		case tok == "*":
			if s[i] == ">" {
				return false
			}
		case tok != s[i]:
			return false
		}
	}
	return len(p) == len(s)
}
