package e2e

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/process/productfeed"
	erp "github.com/retailbridge/retailbridge/services/sandbox/productfeed"
)

// TestProductFeedRunsInTheStack: with PRODUCT_FEED_* set, the stack's inventory process polls
// the ERP's export folder on its schedule, applies a file with bad rows and writes the report
// naming each refused row back over SFTP; the file is archived.
func TestProductFeedRunsInTheStack(t *testing.T) {
	t.Parallel()
	client, err := sftpbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sb, err := erp.Start(ln, erp.Options{Dir: t.TempDir(), AuthorizedKeys: []string{client.Public}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	h := newStack(t,
		withVendorSetting("PRODUCT_FEED_SFTP_ADDR", sb.Addr()),
		withVendorSetting("PRODUCT_FEED_SFTP_PRIVATE_KEY", base64.StdEncoding.EncodeToString(client.PrivatePEM)),
		withVendorSetting("PRODUCT_FEED_SFTP_HOST_KEY", sb.HostKey()),
		withVendorSetting("RB_PRODUCT_FEED_INTERVAL", "1s"))
	file := erp.WithBadRows()
	if err := sb.Drop("products.csv", file); err != nil {
		t.Fatal(err)
	}
	report := productfeed.ReportName("products.csv", productfeed.Hash(file))
	testkit.Eventually(t, 30*time.Second, "the stack writes the file's report", func() bool {
		_, err := sb.Report(report)
		return err == nil
	})
	data, _ := sb.Report(report)
	if lines := strings.Count(string(data), "\n"); lines != 7 {
		t.Fatalf("report has %d lines, want the header and 6 refused rows:\n%s", lines, data)
	}
	testkit.Eventually(t, 10*time.Second, "the file is archived", func() bool {
		archived, _ := sb.Archived()
		waiting, _ := sb.Waiting()
		return len(archived) == 1 && len(waiting) == 0
	})
	// The inventory process's item master reads the feed's rows: SKUs the file names that no
	// system knows, and catalogue SKUs the file lacks, are reported.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := h.Inventory.RefreshItemMaster(ctx); err != nil {
		t.Fatal(err)
	}
	resp := h.do(t, http.MethodGet, "/v1/support/inventory/sku-mismatches?sku=SKU-1", h.supportToken(t, "agent-1", "support:read"), nil)
	var m mismatchesJSON
	resp.JSON(t, &m)
	var kinds []string
	for _, x := range m.Mismatches {
		kinds = append(kinds, x.Kind)
	}
	if !slices.Contains(kinds, "missing_in_erp") || !slices.Contains(kinds, "missing_in_storefront") {
		t.Errorf("mismatches of the feed's SKU-1 = %v; want missing_in_erp and missing_in_storefront", kinds)
	}
	resp = h.do(t, http.MethodGet, "/v1/support/inventory/sku-mismatches?kind=missing_in_product_feed&page_size=1",
		h.supportToken(t, "agent-1", "support:read"), nil)
	m = mismatchesJSON{}
	resp.JSON(t, &m)
	if len(m.Mismatches) != 1 {
		t.Errorf("catalogue SKUs missing from the product feed: %+v; want some reported", m.Mismatches)
	}
}
