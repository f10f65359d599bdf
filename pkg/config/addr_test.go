package config

import (
	"slices"
	"strings"
	"testing"
)

func TestParseServiceAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in     string
		addrs  []string
		dns    string
		listen string
		bad    bool
	}{
		{in: "127.0.0.1:9203", addrs: []string{"127.0.0.1:9203"}, listen: "127.0.0.1:9203"},
		{in: "10.0.0.5:9203, 10.0.0.6:9203", addrs: []string{"10.0.0.5:9203", "10.0.0.6:9203"}, listen: "10.0.0.5:9203"},
		{in: "dns:///returns.internal:9203", dns: "dns:///returns.internal:9203", listen: ":9203"},
		{in: "dns://10.0.0.2:53/returns.internal:9203", dns: "dns://10.0.0.2:53/returns.internal:9203", listen: ":9203"},
		{in: "returns", bad: true},
		{in: "a:1,,b:2", bad: true},
		{in: "dns:///returns", bad: true},
		{in: "dns://returns:9203", bad: true},
	} {
		got, err := ParseServiceAddr(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("ParseServiceAddr(%q) error = %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		if !tc.bad && (!slices.Equal(got.Addrs, tc.addrs) || got.DNS != tc.dns || got.Listen != tc.listen) {
			t.Errorf("ParseServiceAddr(%q) = %+v, want addrs %q dns %q listen %q", tc.in, got, tc.addrs, tc.dns, tc.listen)
		}
	}
}

func TestDeploymentSettings(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"RB_RETURNS_ADDR": "10.0.0.5:9203,10.0.0.6:9203", "RB_RETURNS_LISTEN_ADDR": ":9203",
		"RB_SANDBOX_WEBHOOK_URL": "https://gw.example/", "RB_ALLOW_EMBEDDED": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Sandboxes.WebhookURL != "https://gw.example" || !c.AllowEmbedded || c.Listen.Returns != ":9203" {
		t.Errorf("deployment settings = %+v / %+v / embedded %v", c.Sandboxes, c.Listen, c.AllowEmbedded)
	}
	_, err = Load(env(map[string]string{
		"RB_RETURNS_ADDR": "10.0.0.5:9203,returns", "RB_SANDBOX_WEBHOOK_URL": "gateway",
		"RB_ALLOW_EMBEDDED": "perhaps", "RB_ORDERS_LISTEN_ADDR": "9201",
	}))
	for _, field := range []string{"RB_RETURNS_ADDR", "RB_SANDBOX_WEBHOOK_URL", "RB_ALLOW_EMBEDDED", "RB_ORDERS_LISTEN_ADDR"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
}
