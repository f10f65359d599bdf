package productfeed

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/sftpbox"
)

// Config is the exchange's mailbox and schedule.
type Config struct {
	Mailbox  sftpbox.Config
	Interval time.Duration
}

// DefaultInterval is how often the export folder is polled when RB_PRODUCT_FEED_INTERVAL is
// unset: product master exports run hourly to nightly, so a few minutes' delay costs nothing.
const DefaultInterval = 5 * time.Minute

// ConfigFromEnv reads the exchange through lookup (the deployment's environment):
// RB_PRODUCT_FEED_INTERVAL, PRODUCT_FEED_SFTP_ADDR, PRODUCT_FEED_SFTP_USER, the secret
// PRODUCT_FEED_SFTP_PRIVATE_KEY (OpenSSH PEM, or that PEM in base64 on one line),
// PRODUCT_FEED_SFTP_HOST_KEY (the pinned authorized_keys line) and the folders
// PRODUCT_FEED_INBOUND_DIR, PRODUCT_FEED_REPORT_DIR, PRODUCT_FEED_ARCHIVE_DIR and
// PRODUCT_FEED_QUARANTINE_DIR. It returns every bad setting at once, each naming its variable.
// An unset PRODUCT_FEED_SFTP_ADDR means no exchange: ok is false and nothing else is checked.
func ConfigFromEnv(lookup func(string) string) (cfg Config, ok bool, err error) {
	if lookup("PRODUCT_FEED_SFTP_ADDR") == "" {
		return Config{}, false, nil
	}
	or := func(name, def string) string {
		if v := lookup(name); v != "" {
			return v
		}
		return def
	}
	var bad []error
	cfg.Interval = DefaultInterval
	if v := lookup("RB_PRODUCT_FEED_INTERVAL"); v != "" {
		d, perr := time.ParseDuration(v)
		if perr != nil || d < time.Second {
			bad = append(bad, fmt.Errorf("RB_PRODUCT_FEED_INTERVAL: %q is not a duration of at least 1s", v))
		}
		cfg.Interval = d
	}
	key := lookup("PRODUCT_FEED_SFTP_PRIVATE_KEY")
	if !strings.Contains(key, "PRIVATE KEY") {
		if b, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(key)); derr == nil {
			key = string(b)
		}
	}
	cfg.Mailbox = sftpbox.Config{Addr: lookup("PRODUCT_FEED_SFTP_ADDR"), User: or("PRODUCT_FEED_SFTP_USER", "retailbridge"),
		PrivateKeyPEM: []byte(key), HostKey: lookup("PRODUCT_FEED_SFTP_HOST_KEY"),
		Inbound: or("PRODUCT_FEED_INBOUND_DIR", "/export"), Outbound: or("PRODUCT_FEED_REPORT_DIR", "/reports"),
		Archive: or("PRODUCT_FEED_ARCHIVE_DIR", "/archive"), Quarantine: or("PRODUCT_FEED_QUARANTINE_DIR", "/quarantine")}
	if _, kerr := sftpbox.PublicOf(cfg.Mailbox.PrivateKeyPEM); kerr != nil {
		bad = append(bad, fmt.Errorf("PRODUCT_FEED_SFTP_PRIVATE_KEY: not an OpenSSH private key"))
	}
	if _, herr := sftpbox.ParsePublicKey(cfg.Mailbox.HostKey); herr != nil {
		bad = append(bad, fmt.Errorf("PRODUCT_FEED_SFTP_HOST_KEY: not an authorized_keys line to pin"))
	}
	return cfg, true, errors.Join(bad...)
}

// NewExchange builds the exchange over cfg's mailbox.
func NewExchange(cfg Config, st *Store) (*Exchange, error) {
	box, err := sftpbox.New(cfg.Mailbox)
	if err != nil {
		return nil, err
	}
	return &Exchange{Box: box, Store: st, Interval: cfg.Interval}, nil
}
