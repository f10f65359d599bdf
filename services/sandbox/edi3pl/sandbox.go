// Package edi3pl emulates a 3PL that trades EDI X12 over SFTP: an SFTP server in the process
// (pkg/sftpbox, key login only) with the folders the partner agreement names, and the 3PL's
// side of the exchange behind it. It picks up the 940 warehouse shipping orders and 180 return
// authorisations Retailbridge writes to /to-3pl, answers each interchange with a 997, ships an
// order after a delay (945, and an 856 when asked), receives and inspects a return after delays
// (180s), and sends 846 inventory advice and 947 adjustments on request — all written
// atomically to /from-3pl. Fault knobs make it send malformed files, send every file twice (the
// same interchange control number, as partners re-send), reject orders in its 997, or go silent
// (no 997, no 945: the delayed warehouse acknowledgement).
package edi3pl

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/x12"
)

// The folders, as Retailbridge sees them: it writes to ToPartner and reads FromPartner.
const (
	ToPartner   = "/to-3pl"
	FromPartner = "/from-3pl"
	Archive     = "/archive"
	Quarantine  = "/quarantine"
	// done is where the 3PL keeps what it picked up.
	done = "/3pl-done"
)

// Identities in the envelopes.
const (
	PartnerID   = "ACME3PL"
	RetailerID  = "RETAILBRIDGE"
	Qualifier   = "ZZ"
	DefaultUser = "retailbridge"
)

// Delays are the simulated durations; a negative one means the step never happens by itself.
type Delays struct {
	Ship    time.Duration // 940 received → 945 (default 2s)
	Receive time.Duration // 180 received → 180 "received" (default 2s)
	Inspect time.Duration // received → 180 "inspected" (default 1s)
}

// Options configure the sandbox.
type Options struct {
	// Dir holds the served folders and the 3PL's control number; required.
	Dir string
	// HostKeyPEM is the server's host key; generated (and kept in Dir) when empty.
	HostKeyPEM []byte
	// AuthorizedKeys may log in as User (DefaultUser when empty).
	AuthorizedKeys []string
	User           string
	// Location is the warehouse's location id (default "dc-east"): where 846s and 947s count.
	Location string
	// OpeningLocations are where the opening Stock is counted (Location when empty).
	OpeningLocations []string
	// Delays of auto-progress (zero fields take their defaults).
	Delays Delays
	// PollInterval is how often the 3PL looks at /to-3pl (default 100ms).
	PollInterval time.Duration
	// Logger receives what the 3PL did; discarded when nil.
	Logger *slog.Logger
	// Stock, when given, is counted in an 846 sent when the sandbox starts in a new directory
	// (the opening positions; a restart keeps what was sent since).
	Stock []Stock
	// Condition is what inspection finds on every line unless told otherwise: "RS" resellable
	// (the default), "DM" damaged, "WM" wrong or missing.
	Condition string
}

// Faults are the knobs a test turns.
type Faults struct {
	// Silent: pick up files but answer nothing (no 997, no 945, no 180).
	Silent bool
	// NoShipAdvice: acknowledge 940s with a 997 but never ship them.
	NoShipAdvice bool
	// Send856 also sends an 856 ship notice after each 945.
	Send856 bool
	// Resend writes every outbound file twice (a second name, the same interchange).
	Resend bool
	// Malformed makes the next n files malformed (an SE01 that miscounts).
	Malformed int
	// RejectOrders answers 940s with a rejecting 997 (AK5 R) and never ships them.
	RejectOrders bool
	// AskTA1 sets ISA14 on the 3PL's interchanges: Retailbridge must answer each with a TA1.
	AskTA1 bool
	// BrokenEnvelope makes the next n files' IEA02 differ from their ISA13: an envelope error
	// Retailbridge answers with a rejecting TA1 (note 001) whatever ISA14 says.
	BrokenEnvelope int
	// RejectInterchanges answers Retailbridge's interchanges that ask for a TA1 with a
	// rejecting one (TA105 009, receiver unknown) and processes nothing in them.
	RejectInterchanges bool
}

// Sandbox is the emulated 3PL.
type Sandbox struct {
	opts   Options
	server *sftpbox.Server
	host   sftpbox.KeyPair
	log    *slog.Logger
	stop   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	faults   Faults
	orders   map[string]*Order
	returns  map[string]*Return
	acks     []x12.Ack // 997s Retailbridge sent us
	ta1s     []x12.TA1 // TA1s Retailbridge sent us
	timers   []*time.Timer
	received int // interchanges picked up
	sent     int // files written
}

// Order is a shipping order as the 3PL holds it.
type Order struct {
	ShipmentID, OrderID, Location string
	Lines                         []Line
	Shipped                       bool
}

// Return is an announced return.
type Return struct {
	ReturnID, OrderID, RMA, Location string
	Lines                            []Line
	Received, Inspected              bool
}

// Line is one SKU and quantity, with its order line id.
type Line struct {
	SKU, OrderLineID string
	Quantity         int64
	Condition        string // "RS", "DM", "WM" once inspected
}

// Start serves the sandbox on ln.
func Start(ln net.Listener, opts Options) (*Sandbox, error) {
	if opts.Dir == "" {
		return nil, errors.New("edi3pl sandbox: Dir is required")
	}
	opts = withDefaults(opts)
	for _, d := range []string{ToPartner, FromPartner, Archive, Quarantine, done} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	host, err := hostKey(opts)
	if err != nil {
		return nil, err
	}
	srv, err := sftpbox.Serve(ln, sftpbox.ServerConfig{Dir: opts.Dir, HostKeyPEM: host.PrivatePEM,
		Users: map[string][]string{opts.User: opts.AuthorizedKeys}, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	s := &Sandbox{opts: opts, server: srv, host: host, log: opts.Logger, stop: make(chan struct{}),
		orders: map[string]*Order{}, returns: map[string]*Return{}}
	_, err = os.Stat(filepath.Join(opts.Dir, ".3pl-sequence"))
	if fresh := errors.Is(err, os.ErrNotExist); fresh && len(opts.Stock) > 0 {
		for _, loc := range append([]string(nil), cmpOr(opts.OpeningLocations, []string{opts.Location})...) {
			if err := s.SendInventoryAt(loc, opts.Stock...); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

func withDefaults(o Options) Options {
	if o.User == "" {
		o.User = DefaultUser
	}
	if o.Location == "" {
		o.Location = "dc-east"
	}
	if o.Condition == "" {
		o.Condition = "RS"
	}
	if o.PollInterval == 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Delays.Ship, 2*time.Second)
	def(&o.Delays.Receive, 2*time.Second)
	def(&o.Delays.Inspect, time.Second)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// hostKey uses the given key, or the one kept in Dir, or a new one it keeps there, so a
// restarted sandbox shows the key Retailbridge pinned.
func hostKey(o Options) (sftpbox.KeyPair, error) {
	pemBytes := o.HostKeyPEM
	path := filepath.Join(o.Dir, ".hostkey")
	if pemBytes == nil {
		pemBytes, _ = os.ReadFile(path)
	}
	if pemBytes == nil {
		k, err := sftpbox.GenerateKey()
		if err != nil {
			return k, err
		}
		if err := os.WriteFile(path, k.PrivatePEM, 0o600); err != nil {
			return k, err
		}
		pemBytes = k.PrivatePEM
	}
	pub, err := sftpbox.PublicOf(pemBytes)
	return sftpbox.KeyPair{PrivatePEM: pemBytes, Public: pub}, err
}

// Addr is the SFTP server's address.
func (s *Sandbox) Addr() string { return s.server.Addr() }

// HostKey is the server's public host key, to pin.
func (s *Sandbox) HostKey() string { return s.host.Public }

// Close stops the 3PL and the server.
func (s *Sandbox) Close() error {
	close(s.stop)
	s.wg.Wait()
	s.mu.Lock()
	for _, t := range s.timers {
		t.Stop()
	}
	s.mu.Unlock()
	return s.server.Close()
}

// SetFaults replaces the fault knobs.
func (s *Sandbox) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Stats counts the exchange.
type Stats struct {
	Received int // interchanges the 3PL picked up
	Sent     int // files it wrote (re-sends included)
}

// Stats returns the counters.
func (s *Sandbox) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Received: s.received, Sent: s.sent}
}

// TA1s returns the interchange acknowledgements Retailbridge sent.
func (s *Sandbox) TA1s() []x12.TA1 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ta1s)
}

// Acks returns the 997s Retailbridge sent.
func (s *Sandbox) Acks() []x12.Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]x12.Ack(nil), s.acks...)
}

// Order returns a shipping order by shipment id.
func (s *Sandbox) Order(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, false
	}
	return *o, true
}

// nextControlNumber issues the 3PL's interchange control numbers, kept in Dir so a restart
// never repeats one (Retailbridge would take the new file for a re-send).
func (s *Sandbox) nextControlNumberLocked() (int64, error) {
	path := filepath.Join(s.opts.Dir, ".3pl-sequence")
	b, _ := os.ReadFile(path)
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	n = n%x12.MaxControlNumber + 1
	if err := writeAtomic(path, []byte(strconv.FormatInt(n, 10))); err != nil {
		return 0, err
	}
	return n, nil
}

// writeAtomic writes a file under a temporary name and renames it.
func writeAtomic(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), sftpbox.TempPrefix+filepath.Base(path))
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// sendLocked writes one interchange of one group to /from-3pl (twice when re-sending, broken
// when a malformed file is due).
func (s *Sandbox) sendLocked(prefix, group string, sets ...x12.NewSet) error {
	icn, err := s.nextControlNumberLocked()
	if err != nil {
		return err
	}
	f, err := s.envelope().Build(icn, icn, time.Now(), x12.NewGroup{FunctionalID: group, Sets: sets})
	if err != nil {
		return err
	}
	if s.faults.BrokenEnvelope > 0 {
		s.faults.BrokenEnvelope--
		f.Interchanges[0].Trailer.Elems[1] = fmt.Sprintf("%09d", icn+1)
	}
	if s.faults.Malformed > 0 {
		s.faults.Malformed--
		se := &f.Interchanges[0].Groups[0].Sets[0].Trailer
		se.Elems[0] = strconv.Itoa(len(f.Interchanges[0].Groups[0].Sets[0].Body) + 7)
	}
	return s.writeLocked(prefix, icn, f)
}

// envelope addresses the 3PL's interchanges to Retailbridge.
func (s *Sandbox) envelope() x12.Envelope {
	return x12.Envelope{SenderQualifier: Qualifier, SenderID: PartnerID, ReceiverQualifier: Qualifier, ReceiverID: RetailerID,
		Version: "004010", Layout: "\r\n", AckRequested: s.faults.AskTA1}
}

// writeLocked writes interchange f (control number icn) to /from-3pl, twice when re-sending.
func (s *Sandbox) writeLocked(prefix string, icn int64, f *x12.File) error {
	data, err := x12.Marshal(f)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s_%09d.edi", prefix, icn)
	copies := []string{name}
	if s.faults.Resend {
		copies = append(copies, fmt.Sprintf("%s_%09d_resent.edi", prefix, icn))
	}
	for _, n := range copies {
		if err := writeAtomic(filepath.Join(s.opts.Dir, FromPartner, n), data); err != nil {
			return err
		}
		s.sent++
	}
	s.log.Debug("edi3pl sandbox: sent", "file", name, "copies", len(copies))
	return nil
}

func cmpOr(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}

// Documents counts the distinct shipping orders and returns the 3PL was told about: side
// effects, not files (a re-sent 940 or 180 counts once).
func (s *Sandbox) Documents() (orders, returns int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.orders), len(s.returns)
}

// ReturnIDs lists the returns the 3PL was told about (its 180s), sorted.
func (s *Sandbox) ReturnIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.returns))
}
