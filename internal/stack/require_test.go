package stack

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/config"
)

func loadConfig(t testing.TB, env map[string]string) config.Config {
	t.Helper()
	if env["RB_DATA_DIR"] == "" {
		env["RB_DATA_DIR"] = t.TempDir()
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var vendorEnv = map[string]string{
	"SHOPIFY_ADMIN_URL": "https://shop.example", "SHOPIFY_ACCESS_TOKEN": "t", "SHOPIFY_WEBHOOK_SECRET": "s",
	"NETSUITE_URL": "https://ns.example", "NETSUITE_ACCOUNT": "a", "NETSUITE_CONSUMER_KEY": "k", "NETSUITE_CONSUMER_SECRET": "s",
	"NETSUITE_TOKEN_ID": "i", "NETSUITE_TOKEN_SECRET": "s",
	"STRIPE_API_URL": "https://stripe.example", "STRIPE_SECRET_KEY": "k", "STRIPE_WEBHOOK_SECRET": "w",
	"LOOP_API_URL": "https://loop.example", "LOOP_API_KEY": "k", "LOOP_WEBHOOK_SECRET": "w",
	"WAREHOUSE_API_URL": "https://wh.example", "WAREHOUSE_API_KEY": "k", "WAREHOUSE_WEBHOOK_SECRET": "w",
	"FLUENT_API_URL": "https://acct.sandbox.api.fluentretail.com", "FLUENT_CLIENT_ID": "c", "FLUENT_CLIENT_SECRET": "s",
	"FLUENT_USERNAME": "u", "FLUENT_PASSWORD": "p", "FLUENT_RETAILER_ID": "1",
}

// serve refuses to start a component without the shared engines and vendor settings it needs,
// naming every missing variable at once, and starts nothing meanwhile.
func TestServeRefusesWithoutSharedEngines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		comps []Component
		env   map[string]string
		want  []string
	}{
		{"returns", []Component{Returns}, nil, []string{"NATS_URL", "DATABASE_URL"}},
		{"returns with a bus", []Component{Returns}, map[string]string{"NATS_URL": "nats://n:4222"}, []string{"DATABASE_URL"}},
		{"gateway", []Component{Gateway}, nil, []string{"REDIS_URL", "DATABASE_URL"}},
		{"orders", []Component{Orders}, nil, []string{"NATS_URL", "DATABASE_URL"}},
		{"oms", []Component{OMS}, nil, []string{"FLUENT_API_URL", "FLUENT_CLIENT_ID", "FLUENT_CLIENT_SECRET", "FLUENT_USERNAME",
			"FLUENT_PASSWORD", "FLUENT_RETAILER_ID"}},
		{"inventory", []Component{Inventory}, nil, nil},
		{"commerce", []Component{Commerce}, nil, []string{"NATS_URL", "SHOPIFY_ADMIN_URL", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_WEBHOOK_SECRET"}},
		{"erp", []Component{ERP}, nil, []string{"NETSUITE_URL", "NETSUITE_ACCOUNT", "NETSUITE_CONSUMER_KEY",
			"NETSUITE_CONSUMER_SECRET", "NETSUITE_TOKEN_ID", "NETSUITE_TOKEN_SECRET"}},
		{"payments", []Component{Payments}, nil, []string{"NATS_URL", "STRIPE_API_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"}},
		{"returnsplatform", []Component{ReturnsPlatform}, nil, []string{"NATS_URL", "LOOP_API_URL", "LOOP_API_KEY", "LOOP_WEBHOOK_SECRET"}},
		{"wms", []Component{WMS}, nil, []string{"NATS_URL", "WAREHOUSE_API_URL", "WAREHOUSE_API_KEY", "WAREHOUSE_WEBHOOK_SECRET"}},
		{"sandboxes", []Component{Sandboxes}, nil, nil},
		{"system APIs next to their sandboxes", []Component{Sandboxes, Commerce, ERP, Payments}, nil, []string{"NATS_URL"}},
		{"everything", All, nil, []string{"NATS_URL", "DATABASE_URL", "REDIS_URL"}},
		{"everything, vendors configured", All[1:], vendorEnv, []string{"NATS_URL", "DATABASE_URL", "REDIS_URL"}},
		{"embedded allowed", []Component{Returns, Gateway}, map[string]string{"RB_ALLOW_EMBEDDED": "true"}, nil},
		{"embedded allowed, vendors still required", []Component{Commerce}, map[string]string{"RB_ALLOW_EMBEDDED": "true"},
			[]string{"SHOPIFY_ADMIN_URL", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_WEBHOOK_SECRET"}},
		{"engines configured", []Component{Returns, Gateway}, map[string]string{"NATS_URL": "nats://n:4222",
			"DATABASE_URL": "postgres://db/rb", "REDIS_URL": "redis://r:6379"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = v
			}
			cfg := loadConfig(t, env)
			got := MissingEnv(cfg, tc.comps, cfg.AllowEmbedded)
			if !slices.Equal(got, tc.want) {
				t.Errorf("MissingEnv = %q, want %q", got, tc.want)
			}
			if len(tc.want) == 0 {
				return
			}
			s, err := Start(context.Background(), Options{Config: cfg, Components: tc.comps})
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded without the required settings")
			}
			for _, v := range tc.want {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name %s", err, v)
				}
			}
		})
	}
}
