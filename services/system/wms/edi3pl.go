package wms

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/errs"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	edisb "github.com/retailbridge/retailbridge/services/sandbox/edi3pl"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/edi3pl"
)

// VendorEDI3PL is a 3PL trading EDI X12 files over SFTP.
const VendorEDI3PL = "edi3pl"

// EDI3PLConfig is how to trade EDI X12 with a 3PL over its SFTP server: the vendor's
// Connection. The private key comes from the environment and is masked when the config is logged
// or printed.
type EDI3PLConfig struct {
	// Addr is the SFTP server's host:port.
	Addr string
	// User logs in with PrivateKey (OpenSSH PEM); no passwords.
	User       string
	PrivateKey string
	// HostKey pins the server's public host key (an authorized_keys line); any other is refused.
	HostKey string
	// Outbound is the partner's folder for our files, Inbound where theirs arrive, Archive and
	// Quarantine where read and malformed files go.
	Outbound, Inbound, Archive, Quarantine string
	// SenderID and ReceiverID are ours and the 3PL's interchange ids (qualifier "ZZ" unless set).
	SenderID, ReceiverID               string
	SenderQualifier, ReceiverQualifier string
	// LocationID is the 3PL's location when its files name none.
	LocationID string
	// PollInterval is how often the inbound folder is read (DefaultPollInterval when zero).
	PollInterval time.Duration
	// Test marks our interchanges as test data.
	Test bool
	// AckRequested asks the 3PL for a TA1 on each of our interchanges (EDI3PL_REQUEST_TA1).
	AckRequested bool
}

var _ Connection = EDI3PLConfig{}

// Vendor implements Connection.
func (e EDI3PLConfig) Vendor() string { return VendorEDI3PL }

// pollEvery is how often the 3PL's inbound folder is read.
func (e EDI3PLConfig) pollEvery() time.Duration { return e.PollInterval }

// Connect builds the EDI 3PL's connector; its state lives in JetStream.
func (e EDI3PLConfig) Connect(deps Deps, log *slog.Logger) (Connector, error) {
	if deps.JetStream == nil {
		return nil, errs.E(errs.Invalid, "invalid_deps", "wms: deps.JetStream is required by the EDI 3PL's state")
	}
	return edi3pl.New(e.connector(), deps.JetStream, log, deps.Now)
}

// Validate names every bad field, as edi3pl.<field>.
func (e EDI3PLConfig) Validate() []errs.FieldViolation {
	var bad []errs.FieldViolation
	add := func(field, desc string) {
		bad = append(bad, errs.FieldViolation{Field: "edi3pl." + field, Description: desc})
	}
	if _, _, err := net.SplitHostPort(e.Addr); err != nil {
		add("addr", "must be host:port")
	}
	required := map[string]string{"user": e.User, "private_key": e.PrivateKey, "host_key": e.HostKey,
		"outbound": e.Outbound, "inbound": e.Inbound, "archive": e.Archive, "quarantine": e.Quarantine,
		"sender_id": e.SenderID, "receiver_id": e.ReceiverID, "location_id": e.LocationID}
	for _, f := range []string{"user", "private_key", "host_key", "outbound", "inbound", "archive", "quarantine", "sender_id", "receiver_id", "location_id"} {
		if strings.TrimSpace(required[f]) == "" {
			add(f, "is required")
		}
	}
	if e.HostKey != "" {
		if _, err := sftpbox.ParsePublicKey(e.HostKey); err != nil {
			add("host_key", "must be one authorized_keys line")
		}
	}
	if len(e.SenderID) > 15 || len(e.ReceiverID) > 15 {
		add("sender_id", "interchange ids are at most 15 characters")
	}
	if e.PollInterval < 0 {
		add("poll_interval", "must not be negative")
	}
	return bad
}

func (e EDI3PLConfig) connector() edi3pl.Config {
	q := func(v string) string {
		if v == "" {
			return "ZZ"
		}
		return v
	}
	return edi3pl.Config{
		Mailbox: sftpbox.Config{Addr: e.Addr, User: e.User, PrivateKeyPEM: []byte(e.PrivateKey), HostKey: e.HostKey,
			Inbound: e.Inbound, Outbound: e.Outbound, Archive: e.Archive, Quarantine: e.Quarantine},
		SenderQualifier: q(e.SenderQualifier), SenderID: e.SenderID, ReceiverQualifier: q(e.ReceiverQualifier),
		ReceiverID: e.ReceiverID, LocationID: e.LocationID, Test: e.Test, AckRequested: e.AckRequested,
	}
}

// LogValue masks the private key.
func (e EDI3PLConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("addr", e.Addr), slog.String("user", e.User),
		slog.String("private_key", mask(e.PrivateKey)), slog.String("host_key", e.HostKey),
		slog.String("outbound", e.Outbound), slog.String("inbound", e.Inbound),
		slog.String("sender_id", e.SenderID), slog.String("receiver_id", e.ReceiverID),
		slog.String("location_id", e.LocationID), slog.Duration("poll_interval", e.PollInterval))
}

// String masks the private key, so %v cannot leak it either.
func (e EDI3PLConfig) String() string {
	return fmt.Sprintf("{Addr:%s User:%s PrivateKey:%s HostKey:%s Outbound:%s Inbound:%s SenderID:%s ReceiverID:%s LocationID:%s}",
		e.Addr, e.User, mask(e.PrivateKey), e.HostKey, e.Outbound, e.Inbound, e.SenderID, e.ReceiverID, e.LocationID)
}

// checkEDI3PLEnv names the EDI 3PL's settings that do not parse.
func checkEDI3PLEnv(lookup func(string) string) error {
	if v := lookup("EDI3PL_POLL_INTERVAL"); v != "" {
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			return fmt.Errorf("EDI3PL_POLL_INTERVAL: %q is not a positive duration", v)
		}
	}
	if v := lookup("EDI3PL_REQUEST_TA1"); v != "" && v != "true" && v != "false" {
		return fmt.Errorf("EDI3PL_REQUEST_TA1: %q is not true or false", v)
	}
	if v := lookup("EDI3PL_SFTP_PRIVATE_KEY"); v != "" {
		if _, err := privateKeyPEM(v); err != nil {
			return fmt.Errorf("EDI3PL_SFTP_PRIVATE_KEY: %v", err)
		}
	}
	return nil
}

// privateKeyPEM accepts an OpenSSH PEM key as is or base64-encoded (one line, for environment
// files and shell exports).
func privateKeyPEM(v string) ([]byte, error) {
	if strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
		return []byte(v), nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil || !strings.HasPrefix(string(b), "-----BEGIN") {
		return nil, errors.New("is neither an OpenSSH PEM private key nor one in base64")
	}
	return b, nil
}

// serveEDI3PL builds the service over the 3PL's SFTP mailbox deps.Lookup describes
// (EDI3PLFromEnv). It reads the files waiting before it serves (so the stock the 3PL last
// counted is known from the first call), then polls them for the service's lifetime (deps.Go).
func serveEDI3PL(d vendors.ServiceDeps) (vendors.Service, error) {
	js, err := d.JetStream()
	if err != nil {
		return vendors.Service{}, err
	}
	svc, err := New(Config{Connection: EDI3PLFromEnv(d.Lookup), Timeout: d.Timeout},
		Deps{Logger: d.Logger, JetStream: js, Now: time.Now})
	if err != nil {
		return vendors.Service{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), svc.timeout)
	st, err := svc.PollInbound(ctx)
	cancel()
	svc.countInbound(st, err)
	if err != nil {
		svc.log.Warn("wms: the first poll of the vendor's files failed; polling goes on", "err", err)
	}
	if d.Go != nil {
		d.Go("poll files", func(ctx context.Context) error { svc.RunInbound(ctx); return nil })
	}
	return vendors.Service{Events: true, Register: func(r grpc.ServiceRegistrar) { wmsv1.RegisterWmsServiceServer(r, svc) }}, nil
}

// edi3plSandbox serves the 3PL's SFTP server (its folders and host key under the state
// directory) accepting the configured private key's public half (a new key when unset), with the
// demo catalogue counted in an opening 846. Fast moves orders and returns in milliseconds and
// polls as fast; Manual leaves them for tests to drive. d.Settings may be the REST warehouse's
// warehouse.Outcomes: inspection then finds the condition with the largest share on every line.
func edi3plSandbox(d vendors.SandboxDeps) (vendors.Sandbox, error) {
	ds, err := demo.From(d.Demo)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	key, err := sandboxClientKey(d.Lookup)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	dir := d.StateDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "edi3pl-sandbox-"); err != nil {
			return vendors.Sandbox{}, err
		}
	}
	addr := cmp.Or(d.Addr, "127.0.0.1:0")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	// The demo warehouse's two sites, as the REST warehouse sandbox stocks them.
	opts := edisb.Options{Dir: filepath.Join(dir, "edi3pl"), AuthorizedKeys: []string{key.Public},
		Location: vendors.Or(d.Lookup, "EDI3PL_LOCATION_ID", "dc-east"), OpeningLocations: warehousesb.DefaultLocations}
	poll := DefaultPollInterval.String()
	switch {
	case d.Manual:
		opts.Delays = edisb.Delays{Ship: -1, Receive: -1, Inspect: -1}
	case d.Fast:
		opts.Delays = edisb.Delays{Ship: 100 * time.Millisecond, Receive: 300 * time.Millisecond, Inspect: 100 * time.Millisecond}
	}
	if d.Fast || d.Manual {
		poll = "50ms"
	}
	switch s := d.Settings.(type) {
	case nil:
	case warehousesb.Outcomes: // the REST warehouse's shares: the largest one decides
		opts.Condition = "RS"
		if s.Damaged > s.Resellable && s.Damaged >= s.WrongOrMissing {
			opts.Condition = "DM"
		} else if s.WrongOrMissing > s.Resellable && s.WrongOrMissing > s.Damaged {
			opts.Condition = "WM"
		}
	default:
		return vendors.Sandbox{}, fmt.Errorf("edi3pl sandbox: settings %T are not warehouse.Outcomes", d.Settings)
	}
	if ds != nil {
		for i, it := range ds.Items {
			if it.Category != "gift_card" {
				opts.Stock = append(opts.Stock, edisb.Stock{SKU: it.SKU, Available: 20 + int64(i*7%100)})
			}
		}
	}
	sb, err := edisb.Start(ln, opts)
	if err != nil {
		ln.Close()
		return vendors.Sandbox{}, err
	}
	return vendors.Sandbox{URL: "sftp://" + sb.Addr(), Value: sb, Close: func() { sb.Close() },
		Env: map[string]string{"EDI3PL_SFTP_ADDR": sb.Addr(), "EDI3PL_SFTP_HOST_KEY": strings.TrimSpace(sb.HostKey()),
			"EDI3PL_SFTP_PRIVATE_KEY": base64.StdEncoding.EncodeToString(key.PrivatePEM), "EDI3PL_POLL_INTERVAL": poll}}, nil
}

// sandboxClientKey is the key the connector logs in with: the configured one, or a new one.
func sandboxClientKey(lookup func(string) string) (sftpbox.KeyPair, error) {
	v := lookup("EDI3PL_SFTP_PRIVATE_KEY")
	if v == "" {
		return sftpbox.GenerateKey()
	}
	pem, err := privateKeyPEM(v)
	if err != nil {
		return sftpbox.KeyPair{}, err
	}
	pub, err := sftpbox.PublicOf(pem)
	return sftpbox.KeyPair{PrivatePEM: pem, Public: pub}, err
}
