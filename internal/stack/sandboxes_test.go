package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// `serve sandboxes` listens where RB_SANDBOX_*_ADDR say and delivers webhooks to
// RB_SANDBOX_WEBHOOK_URL (a gateway or the load balancer in front of several).
func TestServeSandboxesOnConfiguredPortsWithWebhookTarget(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var paths []string
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
	}))
	defer lb.Close()
	env := map[string]string{"RB_SANDBOX_WEBHOOK_URL": lb.URL + "/"}
	vars := []string{"RB_SANDBOX_SHOPIFY_ADDR", "RB_SANDBOX_NETSUITE_ADDR", "RB_SANDBOX_STRIPE_ADDR", "RB_SANDBOX_LOOP_ADDR", "RB_SANDBOX_WAREHOUSE_ADDR"}
	for _, v := range vars {
		env[v] = freeAddr(t)
	}
	s, err := Start(context.Background(), Options{Config: loadConfig(t, env), Components: []Component{Sandboxes}, ManualParcels: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, u := range []string{s.ShopifyURL, s.NetSuiteURL, s.StripeURL, s.LoopURL, s.WarehouseURL} {
		if u != "http://"+env[vars[i]] {
			t.Errorf("%s: sandbox at %s, want %s", vars[i], u, env[vars[i]])
		}
	}

	line := s.Demo.Orders[0].Lines[0]
	body, _ := json.Marshal(map[string]any{"reference": "ret_1", "location_id": "dc-east",
		"lines": []map[string]any{{"sku": line.SKU, "quantity": 1}}})
	req, _ := http.NewRequest(http.MethodPost, s.WarehouseURL+"/v1/inbound/returns", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.SandboxConfig()["WAREHOUSE_API_KEY"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rc struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&rc)
	resp.Body.Close()
	if resp.StatusCode >= 300 || rc.ID == "" {
		t.Fatalf("expect a return: %d", resp.StatusCode)
	}
	if err := s.Warehouse.Receive(rc.ID); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "a webhook reaches "+lb.URL+"/webhooks/warehouse", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(strings.Join(paths, " "), "/webhooks/warehouse")
	})
}
