package wms

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/edi3pl"
)

// EDI3PLConfig is how to trade EDI X12 with a 3PL over its SFTP server. The private key comes
// from the environment and is masked when the config is logged or printed.
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
}

func (e EDI3PLConfig) validate() []errs.FieldViolation {
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
		ReceiverID: e.ReceiverID, LocationID: e.LocationID, Test: e.Test,
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
