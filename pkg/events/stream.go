package events

import (
	"context"
	"fmt"
	"strings"
	"time"

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

// StreamOptions tune a stream. The zero value gives file storage, one replica, the default
// duplicate window and no age limit.
type StreamOptions struct {
	// Duplicates is the deduplication window. Default DefaultDuplicateWindow.
	Duplicates time.Duration
	// MaxAge drops messages older than this; zero keeps them until a size limit or a purge.
	MaxAge time.Duration
	// Replicas is the number of copies in a cluster. Default 1.
	Replicas int
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

// EnsureStream creates domain's event stream, or updates it to opts, and returns it.
func EnsureStream(ctx context.Context, js jetstream.JetStream, domain string, opts StreamOptions) (jetstream.Stream, error) {
	if !validToken(domain) || domain == deadLetterDomain {
		return nil, fmt.Errorf("events: invalid domain %q", domain)
	}
	return ensure(ctx, js, StreamName(domain), DomainSubjects(domain), "Retailbridge "+domain+" events", opts)
}

// EnsureDeadLetterStream creates the dead-letter stream, or updates it to opts, and returns it.
// Keep MaxAge zero unless operators have another record of what was dropped.
func EnsureDeadLetterStream(ctx context.Context, js jetstream.JetStream, opts StreamOptions) (jetstream.Stream, error) {
	return ensure(ctx, js, DeadLetterStream, SubjectPrefix+deadLetterDomain+".>",
		"Retailbridge dead letters: events a consumer gave up on, with the reason", opts)
}

func ensure(ctx context.Context, js jetstream.JetStream, name, subjects, desc string, opts StreamOptions) (jetstream.Stream, error) {
	if opts.Duplicates <= 0 {
		opts.Duplicates = DefaultDuplicateWindow
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        name,
		Description: desc,
		Subjects:    []string{subjects},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Duplicates:  opts.Duplicates,
		MaxAge:      opts.MaxAge,
		Replicas:    opts.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("events: ensure stream %s: %w", name, err)
	}
	return s, nil
}
