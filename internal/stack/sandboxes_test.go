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
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
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
	vendors := []string{"shopify", "netsuite", "stripe", "loop", "warehouse"}
	for _, v := range vendors {
		env["RB_SANDBOX_"+strings.ToUpper(v)+"_ADDR"] = freeAddr(t)
	}
	s, err := Start(context.Background(), Options{Config: loadConfig(t, env), Components: []Component{Sandboxes}, ManualParcels: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, v := range vendors {
		key := "RB_SANDBOX_" + strings.ToUpper(v) + "_ADDR"
		if u := s.SandboxURL(v); u != "http://"+env[key] {
			t.Errorf("%s: sandbox at %s, want %s", key, u, env[key])
		}
	}

	line := s.Demo.Orders[0].Lines[0]
	body, _ := json.Marshal(map[string]any{"reference": "ret_1", "location_id": "dc-east",
		"lines": []map[string]any{{"sku": line.SKU, "quantity": 1}}})
	req, _ := http.NewRequest(http.MethodPost, s.SandboxURL("warehouse")+"/v1/inbound/returns", bytes.NewReader(body))
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
	if err := s.Sandbox("warehouse").(*warehousesb.Sandbox).Receive(rc.ID); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "a webhook reaches "+lb.URL+"/webhooks/warehouse", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(strings.Join(paths, " "), "/webhooks/warehouse")
	})
}
