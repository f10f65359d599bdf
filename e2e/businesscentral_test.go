package e2e

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// Business Central's webhook subscription is made through the gateway: the ERP service
// subscribes to sales orders with the gateway's /webhooks/businesscentral as notificationUrl,
// Business Central's handshake reaches the ERP service through the gateway and is answered with
// the token, and a change to a sales order comes back as a notification the ERP service turns
// into a canonical event. A notification with another clientState is refused.
func TestBusinessCentralNotificationsThroughTheGateway(t *testing.T) {
	t.Parallel()
	addr := testkit.FreeAddrs(t, 1)[0]
	const secret = "e2e-client-state-0123456789"
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors, o.GatewayAddr = true, addr },
		withVendorSetting("RB_ERP_VENDOR", "businesscentral"),
		withVendorSetting("BUSINESSCENTRAL_NOTIFICATION_URL", "http://"+addr+"/webhooks/businesscentral"),
		withVendorSetting("BUSINESSCENTRAL_CLIENT_STATE", secret))
	bc := h.BusinessCentral
	if bc == nil {
		t.Fatal("no Business Central sandbox")
	}
	testkit.Eventually(t, 30*time.Second, "a subscription registered through the gateway's handshake", func() bool {
		return len(bc.Subscriptions()) == 1
	})
	o := h.Demo.Orders[0]
	id, ok := bc.SalesOrderID(o.ID)
	if !ok || !bc.Touch(id) {
		t.Fatalf("no sales order for %s", o.ID)
	}
	testkit.Eventually(t, 30*time.Second, "the sales order's notification accepted", func() bool {
		return bc.Stats().Notifications >= 1
	})
	t.Logf("Business Central: %d handshakes, %d notifications accepted", bc.Handshakes(), bc.Stats().Notifications)

	forged := []byte(`{"value":[{"subscriptionId":"x","clientState":"guess","resource":"api/v2.0/companies(` +
		bc.Options().CompanyID + `)/salesOrders(` + id + `)","changeType":"updated","lastModifiedDateTime":"2026-06-15T12:00:00Z"}]}`)
	resp, err := http.Post(h.GatewayURL+"/webhooks/businesscentral", "application/json", bytes.NewReader(forged))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged notification: %d; want 401", resp.StatusCode)
	}
}
