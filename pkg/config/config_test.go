package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load with no environment: %v", err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.OrderTTL.String() != "30s" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadNamesEveryBadField(t *testing.T) {
	t.Parallel()
	_, err := Load(env(map[string]string{
		"RB_HTTP_ADDR": "nonsense", "RB_ORDER_TTL": "soon", "RB_LOG_LEVEL": "loud",
		"REDIS_URL": "not a url", "RB_TRACE_SAMPLE_RATIO": "2",
	}))
	if err == nil {
		t.Fatal("Load accepted bad configuration")
	}
	for _, field := range []string{"RB_HTTP_ADDR", "RB_ORDER_TTL", "RB_LOG_LEVEL", "REDIS_URL", "RB_TRACE_SAMPLE_RATIO"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s:\n%v", field, err)
		}
	}
}

func TestKeyEncryptionKey(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"c2hvcnQ=", "not base64 at all!", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTI="} {
		if _, err := Load(env(map[string]string{"RB_KEY_ENCRYPTION_KEY": bad})); err == nil || !strings.Contains(err.Error(), "RB_KEY_ENCRYPTION_KEY") {
			t.Errorf("RB_KEY_ENCRYPTION_KEY=%q: %v", bad, err)
		}
	}
	good := "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="
	c, err := Load(env(map[string]string{"RB_KEY_ENCRYPTION_KEY": good}))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c)
	if strings.Contains(logged.String(), good) || !strings.Contains(logged.String(), `"key_encryption_key":"***"`) {
		t.Errorf("logged configuration shows the key-encryption key: %s", logged.String())
	}
}

func TestStreamReplicas(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.StreamReplicas != 1 {
		t.Errorf("default replicas %d, want 1", c.StreamReplicas)
	}
	c, err = Load(env(map[string]string{"NATS_URL": "nats://n1:4222", "RB_STREAM_REPLICAS": "3"}))
	if err != nil || c.StreamReplicas != 3 {
		t.Errorf("replicas %d, err %v; want 3, nil", c.StreamReplicas, err)
	}
	for name, e := range map[string]map[string]string{
		"replicas without a cluster": {"RB_STREAM_REPLICAS": "3"},
		"too many replicas":          {"NATS_URL": "nats://n1:4222", "RB_STREAM_REPLICAS": "7"},
		"zero replicas":              {"RB_STREAM_REPLICAS": "0"},
	} {
		if _, err := Load(env(e)); err == nil || !strings.Contains(err.Error(), "RB_STREAM_REPLICAS") {
			t.Errorf("%s: err = %v, want one naming RB_STREAM_REPLICAS", name, err)
		}
	}
}

func TestSettlementSettings(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if bp, fixed, err := c.SettlementFees(); err != nil || bp != 290 || fixed != 30 || c.SettlementInterval.String() != "1h0m0s" {
		t.Errorf("default fee %d+%d (%v), interval %v; want 290+30 every 1h", bp, fixed, err, c.SettlementInterval)
	}
	c, err = Load(env(map[string]string{"RB_SETTLEMENT_FEE": "150bp", "RB_SETTLEMENT_INTERVAL": "5m"}))
	if err != nil {
		t.Fatal(err)
	}
	if bp, fixed, _ := c.SettlementFees(); bp != 150 || fixed != 0 {
		t.Errorf("150bp parsed as %d+%d", bp, fixed)
	}
	for _, bad := range []map[string]string{
		{"RB_SETTLEMENT_FEE": "2.9%+30"}, {"RB_SETTLEMENT_FEE": "290bp-30"}, {"RB_SETTLEMENT_FEE": "bp+30"},
		{"RB_SETTLEMENT_INTERVAL": "0s"}, {"RB_SETTLEMENT_GRACE": "-1h"},
		{"RB_SETTLEMENT_LOOKBACK": "1h"}, // shorter than the grace
	} {
		_, err := Load(env(bad))
		for field := range bad {
			if err == nil || !strings.Contains(err.Error(), field) {
				t.Errorf("Load(%v) = %v, want an error naming %s", bad, err, field)
			}
		}
	}
}
