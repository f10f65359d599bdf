package edi3pl_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/edi3pl"
	"github.com/retailbridge/retailbridge/services/system/wms"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/connectortest"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/edi3pl"
)

// conformanceCaps: the 3PL sends files (not signed webhooks), acknowledges an order only by shipping it (its 997 acknowledges
// the interchange, not the order), and counts stock in 846/947 documents (a return moves no
// position until the 3PL counts or adjusts). Nothing answers HTTP, so there is no latency or
// status to inject.
var conformanceCaps = connectortest.Capabilities{}

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, conformanceCaps, startConformance)
}

var conformanceLocations = []string{"dc-east", "dc-west"}

// conformanceRig is the 3PL sandbox with auto-progress off, the demo catalogue counted at each
// location, and a poller that collects what the connector publishes from the 3PL's files.
type conformanceRig struct {
	sb     *sandbox.Sandbox
	dir    string
	js     jetstream.JetStream
	cfg    edi3pl.Config
	poller *edi3pl.Client
	// closing closes the sandbox once: SetDown or the end of the test.
	closing *sync.Once
	// tb is the test the rig was started for: Stats, whose signature has none, waits with it.
	tb testing.TB

	mu     sync.Mutex
	events []*canonicalv1.Event
}

func startConformance(tb testing.TB) connectortest.Sandbox {
	tb.Helper()
	key, err := sftpbox.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	sb, err := sandbox.Start(ln, sandbox.Options{Dir: dir, AuthorizedKeys: []string{key.Public}, PollInterval: 10 * time.Millisecond,
		Delays: sandbox.Delays{Ship: -1, Receive: -1, Inspect: -1}, OpeningLocations: conformanceLocations,
		Stock: []sandbox.Stock{{SKU: "APP-000", Available: 40, Hold: 2}, {SKU: "FTW-100", Available: 12}}})
	if err != nil {
		tb.Fatal(err)
	}
	var closing sync.Once
	tb.Cleanup(func() { closing.Do(func() { sb.Close() }) })
	_, js := eventstest.Start(tb).Connect(tb)
	r := &conformanceRig{sb: sb, dir: dir, js: js, closing: &closing, tb: tb, cfg: edi3pl.Config{
		Mailbox: sftpbox.Config{Addr: sb.Addr(), User: sandbox.DefaultUser, PrivateKeyPEM: key.PrivatePEM, HostKey: sb.HostKey(),
			Inbound: sandbox.FromPartner, Outbound: sandbox.ToPartner, Archive: sandbox.Archive, Quarantine: sandbox.Quarantine},
		SenderQualifier: sandbox.Qualifier, SenderID: sandbox.RetailerID, ReceiverQualifier: sandbox.Qualifier, ReceiverID: sandbox.PartnerID,
		LocationID: conformanceLocations[0],
	}}
	r.poller = r.connect(tb)
	// The opening counts are the catalogue the scenarios start from, not events they raise.
	r.until(tb, "the opening stock counted", func() bool {
		ps, err := r.poller.ListPositions(context.Background(), nil, nil)
		return err == nil && len(ps) == 4
	})
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
	return r
}

func (r *conformanceRig) connect(tb testing.TB) *edi3pl.Client {
	tb.Helper()
	c, err := edi3pl.New(r.cfg, r.js, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// until polls the 3PL's files, as the WMS service's poller does, until cond holds.
func (r *conformanceRig) until(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	testkit.Eventually(tb, 20*time.Second, what, func() bool {
		if _, err := r.poller.Poll(context.Background(), func(_ context.Context, _ string, evs []*canonicalv1.Event) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.events = append(r.events, evs...)
			return nil
		}); err != nil {
			tb.Logf("Poll: %v", err)
		}
		return cond()
	})
}

func (r *conformanceRig) Capabilities() connectortest.Capabilities { return conformanceCaps }

// Connect connects; WrongKey logs in with an SSH key the 3PL does not authorize.
func (r *conformanceRig) Connect(tb testing.TB, o connectortest.Options) wms.Connector {
	tb.Helper()
	if !o.WrongKey {
		return r.connect(tb)
	}
	other, err := sftpbox.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	cfg := r.cfg
	cfg.Mailbox.PrivateKeyPEM = other.PrivatePEM
	c, err := edi3pl.New(cfg, r.js, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func (r *conformanceRig) Locations() []string { return conformanceLocations }

// act runs a sandbox step once the 3PL has picked up the document it acts on.
func (r *conformanceRig) act(tb testing.TB, what string, step func() error) {
	tb.Helper()
	testkit.Eventually(tb, 20*time.Second, "the 3PL holds the document to "+what, func() bool {
		err := step()
		if err != nil && !errors.Is(err, sandbox.ErrNotFound) {
			tb.Fatalf("%s: %v", what, err)
		}
		return err == nil
	})
}

func (r *conformanceRig) Receive(tb testing.TB, id string) {
	tb.Helper()
	r.act(tb, "receive "+id, func() error { return r.sb.Receive(id) })
	r.until(tb, "the receipt of "+id+" read", func() bool {
		got, err := r.poller.GetReturnReceipt(context.Background(), id)
		return err == nil && got.GetReceivedAt() != nil
	})
}

var conformanceConditions = map[canonicalv1.ItemCondition]string{
	canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE:       "RS",
	canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED:          "DM",
	canonicalv1.ItemCondition_ITEM_CONDITION_WRONG_OR_MISSING: "WM",
}

func (r *conformanceRig) Inspect(tb testing.TB, id string, conds []canonicalv1.ItemCondition) {
	tb.Helper()
	force := map[int]string{}
	for i, c := range conds {
		force[i] = conformanceConditions[c]
	}
	r.act(tb, "inspect "+id, func() error { return r.sb.Inspect(id, force) })
	r.until(tb, "the inspection of "+id+" read", func() bool {
		got, err := r.poller.GetReturnReceipt(context.Background(), id)
		return err == nil && len(got.GetLines()) > 0 && got.GetLines()[0].GetCondition() != 0
	})
}

// Acknowledge is not a step of the 3PL's: it declares no Acknowledgement capability.
func (r *conformanceRig) Acknowledge(tb testing.TB, id string) {
	tb.Fatalf("the 3PL acknowledges an order only by shipping it (%s)", id)
}

func (r *conformanceRig) Ship(tb testing.TB, id string) {
	tb.Helper()
	r.act(tb, "ship "+id, func() error { return r.sb.Ship(id) })
	r.until(tb, "the shipment of "+id+" read", func() bool {
		got, err := r.poller.GetShippingOrder(context.Background(), id)
		return err == nil && got.GetShipment() != nil
	})
}

func (r *conformanceRig) SetLatency(time.Duration) {}

// SetDown stops the SFTP server.
func (r *conformanceRig) SetDown(on bool) {
	if on {
		r.closing.Do(func() { r.sb.Close() })
	}
}

func (r *conformanceRig) SetErrorStatus(int) {}

// Stats counts what the 3PL holds once it has picked up every file sent to it.
func (r *conformanceRig) Stats() connectortest.Stats {
	testkit.Eventually(r.tb, 20*time.Second, "the 3PL to pick up every file sent to it", func() bool {
		files, err := os.ReadDir(filepath.Join(r.dir, sandbox.ToPartner))
		return err == nil && len(files) == 0
	})
	orders, returns := r.sb.Documents()
	return connectortest.Stats{ReceiptsCreated: int64(returns), OrdersCreated: int64(orders)}
}

func (r *conformanceRig) Events(tb testing.TB, _ wms.Connector, n int) []*canonicalv1.Event {
	tb.Helper()
	r.until(tb, "the 3PL's events", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.events) >= n
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*canonicalv1.Event(nil), r.events...)
}

func (r *conformanceRig) Webhooks(tb testing.TB, _ int) []connectortest.Webhook {
	tb.Fatal("the 3PL sends files, not webhooks")
	return nil
}

func (r *conformanceRig) SignatureHeader() string { return "" }

func (r *conformanceRig) Sign([]byte, time.Time) string { return "" }
