package productfeed

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/sftpbox"
)

// TestConfigFromEnv: unset address means no exchange; every bad setting is named at once; a
// base64 key and the defaults are read.
func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	if _, ok, err := ConfigFromEnv(func(string) string { return "" }); ok || err != nil {
		t.Fatalf("unset: ok=%v err=%v", ok, err)
	}
	env := map[string]string{"PRODUCT_FEED_SFTP_ADDR": "127.0.0.1:1", "RB_PRODUCT_FEED_INTERVAL": "soon"}
	_, ok, err := ConfigFromEnv(func(k string) string { return env[k] })
	for _, name := range []string{"RB_PRODUCT_FEED_INTERVAL", "PRODUCT_FEED_SFTP_PRIVATE_KEY", "PRODUCT_FEED_SFTP_HOST_KEY"} {
		if !ok || err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("bad settings: %v, want %s named", err, name)
		}
	}
	client, _ := sftpbox.GenerateKey()
	host, _ := sftpbox.GenerateKey()
	env = map[string]string{"PRODUCT_FEED_SFTP_ADDR": "127.0.0.1:1", "RB_PRODUCT_FEED_INTERVAL": "30s",
		"PRODUCT_FEED_SFTP_PRIVATE_KEY": base64.StdEncoding.EncodeToString(client.PrivatePEM), "PRODUCT_FEED_SFTP_HOST_KEY": host.Public}
	cfg, ok, err := ConfigFromEnv(func(k string) string { return env[k] })
	if !ok || err != nil || cfg.Interval.String() != "30s" || cfg.Mailbox.Inbound != "/export" || cfg.Mailbox.Outbound != "/reports" {
		t.Fatalf("good settings: %+v ok=%v err=%v", cfg, ok, err)
	}
	if _, err := NewExchange(cfg, nil); err != nil {
		t.Fatal(err)
	}
}
