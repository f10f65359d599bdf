package config

import (
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
		"REDIS_URL": "not a url", "RB_TRACE_SAMPLE_RATIO": "2", "RB_GOVERNOR_LOOP": "speed=1",
	}))
	if err == nil {
		t.Fatal("Load accepted bad configuration")
	}
	for _, field := range []string{"RB_HTTP_ADDR", "RB_ORDER_TTL", "RB_LOG_LEVEL", "REDIS_URL", "RB_TRACE_SAMPLE_RATIO", "RB_GOVERNOR_LOOP"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s:\n%v", field, err)
		}
	}
}
