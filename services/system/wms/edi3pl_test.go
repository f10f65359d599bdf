package wms_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	edisandbox "github.com/retailbridge/retailbridge/services/sandbox/edi3pl"
	"github.com/retailbridge/retailbridge/services/system/wms"
)

// newEDIService serves the 3PL sandbox and a WMS service trading with it, polling its files.
func newEDIService(t *testing.T, delays edisandbox.Delays) (*wms.Service, *edisandbox.Sandbox, *effectLog) {
	t.Helper()
	key, err := sftpbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sb, err := edisandbox.Start(ln, edisandbox.Options{Dir: t.TempDir(), AuthorizedKeys: []string{key.Public}, Delays: delays,
		PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	_, js := eventstest.Start(t).Connect(t)
	if _, err := events.EnsureStream(ctxFor(t, 5*time.Second), js, wms.StreamDomain,
		events.StreamOptions{Duplicates: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	cfg := wms.EDI3PLFromEnv(func(name string) string {
		return map[string]string{"EDI3PL_SFTP_ADDR": sb.Addr(), "EDI3PL_SFTP_PRIVATE_KEY": string(key.PrivatePEM),
			"EDI3PL_SFTP_HOST_KEY": sb.HostKey()}[name]
	})
	cfg.PollInterval = 20 * time.Millisecond
	svc, err := wms.New(wms.Config{Connection: cfg}, wms.Deps{JetStream: js})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svc.RunInbound(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return svc, sb, runConsumer(t, js)
}

// TestEDIResentFilesOneEffect is FM-1 for files: the 3PL sends every file twice (same
// interchange control number) and reports each shipment by 945 and 856; every canonical event
// reaches the consumer once, and the re-sent copies are counted as duplicates.
func TestEDIResentFilesOneEffect(t *testing.T) {
	t.Parallel()
	const step = 20 * time.Millisecond
	svc, sb, effects := newEDIService(t, edisandbox.Delays{Ship: step, Receive: step, Inspect: step})
	sb.SetFaults(edisandbox.Faults{Resend: true, Send856: true})
	ctx := ctxFor(t, 10*time.Second)
	const orders, returns = 3, 2
	for i := range orders {
		sh := &canonicalv1.Shipment{Id: fmt.Sprint("ship_", i), OrderId: "o1", FromLocationId: "dc-east",
			ToAddress: &canonicalv1.Address{Name: "A", Lines: []string{"1 St"}, City: "C", CountryCode: "US"},
			Lines:     []*canonicalv1.ShipmentLine{{Sku: "SKU-1", Quantity: 1}}}
		if _, err := svc.CreateShippingOrder(ctx, &wmsv1.CreateShippingOrderRequest{Shipment: sh}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range returns {
		ret := &canonicalv1.Return{Id: fmt.Sprint("ret_", i), OrderId: "o1", Lines: []*canonicalv1.ReturnLine{{Sku: "SKU-1", Quantity: 1}}}
		if _, err := svc.ExpectReturn(ctx, &wmsv1.ExpectReturnRequest{Return: ret, LocationId: "dc-east"}); err != nil {
			t.Fatal(err)
		}
	}
	// Per order: shipped (a 997 is not the warehouse's acknowledgement); per return: received
	// and inspected.
	want := orders + 2*returns
	testkit.Eventually(t, 20*time.Second, "every event reached the consumer", func() bool { return effects.distinct() == want })
	for id, n := range effects.snapshot() {
		if n != 1 {
			t.Errorf("event %s: %d effects, want 1", id, n)
		}
	}
	if st := svc.InboundStats(); st.Duplicates == 0 || st.Quarantined != 0 {
		t.Errorf("inbound: %+v, want duplicates counted and nothing quarantined", st)
	}
	for i := range orders {
		o, err := svc.GetShippingOrder(ctx, &wmsv1.GetShippingOrderRequest{WarehouseOrderId: fmt.Sprint("ship_", i)})
		if err != nil || o.GetShipment() == nil || o.GetAcknowledgedAt() == nil {
			t.Errorf("order %d: %v, %v", i, o, err)
		}
	}
	if _, err := svc.IngestWebhook(ctx, &wmsv1.IngestWebhookRequest{Body: []byte("{}")}); errs.KindOf(err) != errs.Unimplemented {
		t.Errorf("IngestWebhook on a file vendor: got %v, want unimplemented", err)
	}
}

// TestEDIConfigValidate names every missing or bad field of the EDI 3PL's configuration.
func TestEDIConfigValidate(t *testing.T) {
	t.Parallel()
	err := wms.Config{Connection: wms.EDI3PLConfig{Addr: "nohost", HostKey: "not a key", PollInterval: -1}}.Validate()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("Validate: got %v", err)
	}
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	got := strings.Join(fields, ",")
	for _, f := range []string{"edi3pl.addr", "edi3pl.user", "edi3pl.private_key", "edi3pl.host_key", "edi3pl.sender_id",
		"edi3pl.location_id", "edi3pl.poll_interval"} {
		if !strings.Contains(got, f) {
			t.Errorf("Validate fields %s: missing %s", got, f)
		}
	}
	cfg := wms.EDI3PLConfig{PrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----secret"}
	if s := fmt.Sprint(cfg); strings.Contains(s, "secret") {
		t.Errorf("%%v leaks the private key: %s", s)
	}
}
