package e2e

import (
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/process/productfeed"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
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
	newStack(t,
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
}

type feedFileJSON struct {
	FileID   string `json:"file_id"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	Rows     int    `json:"rows"`
	Applied  int    `json:"applied"`
	Rejected int    `json:"rejected"`
}

// TestProductFeedReadAPIThroughTheGateway: in the dev shape the product feed's sandbox starts
// with the vendors' (its opening product master applied), and support reads the feed through
// the gateway with support:read: the files, a file's rejects report row by row, the item master
// page by page and by SKU — bad ids and unknown SKUs are RFC 9457 problems, other callers are
// refused.
func TestProductFeedReadAPIThroughTheGateway(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors = true })
	sb, ok := h.Sandbox("productfeed").(*erp.Sandbox)
	if !ok {
		t.Fatal("the stack started no product feed sandbox")
	}
	tok := h.supportToken(t, "ops", "support:read")
	files := func() []feedFileJSON {
		var out struct{ Files []feedFileJSON }
		if resp := h.do(t, http.MethodGet, "/v1/support/product-feed/files", tok, nil); resp.Status == http.StatusOK {
			resp.JSON(t, &out)
		}
		return out.Files
	}
	var last []feedFileJSON
	defer func() {
		if t.Failed() {
			t.Logf("last files %+v; %d demo items", last, len(h.Demo.Items))
		}
	}()
	testkit.Eventually(t, 60*time.Second, "the opening product master is applied", func() bool {
		last = files()
		return len(last) == 1 && last[0].Status == "processed" && last[0].Applied == len(h.Demo.Items) && last[0].Rejected == 0
	})
	t.Logf("opening file %+v", last)
	if err := sb.Drop("products-bad.csv", erp.WithBadRows()); err != nil {
		t.Fatal(err)
	}
	var bad feedFileJSON
	testkit.Eventually(t, 60*time.Second, "the bad-rows file is taken", func() bool {
		fs := files()
		if len(fs) == 2 {
			bad = fs[0]
		}
		return len(fs) == 2
	})
	var rep struct {
		File    feedFileJSON
		Rejects []struct {
			Row    int    `json:"row"`
			Column string `json:"column"`
			Reason string `json:"reason"`
		}
	}
	resp := h.do(t, http.MethodGet, "/v1/support/product-feed/files/"+bad.FileID+"/rejects", tok, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("rejects: %d %s", resp.Status, resp.Body)
	}
	resp.JSON(t, &rep)
	if rep.File.Name != "products-bad.csv" || len(rep.Rejects) != 6 || bad.Rejected != 6 {
		t.Fatalf("rejects report %+v; want the bad-rows file's 6 refused rows", rep)
	}
	for _, r := range rep.Rejects {
		if r.Row < 2 || r.Reason == "" {
			t.Errorf("reject %+v names no row or reason", r)
		}
	}
	checkItemMaster(t, h, tok)
	checkFeedProblems(t, h, tok)
}

// checkItemMaster pages through the item master three rows at a time and reads one SKU.
func checkItemMaster(t *testing.T, h *harness, tok string) {
	t.Helper()
	seen, token := map[string]bool{}, ""
	for range 1000 {
		var page struct {
			Items []struct {
				SKU   string `json:"sku"`
				Price string `json:"price"`
			}
			NextPageToken string `json:"next_page_token"`
		}
		resp := h.do(t, http.MethodGet, "/v1/support/item-master?page_size=3&page_token="+url.QueryEscape(token), tok, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("item master page: %d %s", resp.Status, resp.Body)
		}
		resp.JSON(t, &page)
		for _, it := range page.Items {
			if seen[it.SKU] || it.Price == "" {
				t.Errorf("item %+v seen twice or without a price", it)
			}
			seen[it.SKU] = true
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if len(seen) < len(h.Demo.Items) {
		t.Errorf("item master pages held %d SKUs, want at least the %d demo items", len(seen), len(h.Demo.Items))
	}
	sku := h.Demo.Items[0].SKU
	if resp := h.do(t, http.MethodGet, "/v1/support/item-master/"+url.PathEscape(sku), tok, nil); resp.Status != http.StatusOK {
		t.Errorf("item %s: %d %s", sku, resp.Status, resp.Body)
	}
}

// checkFeedProblems: bad input and unknown records are problems; other callers are refused.
func checkFeedProblems(t *testing.T, h *harness, tok string) {
	t.Helper()
	for path, want := range map[string]struct {
		status int
		reason string
	}{
		"/v1/support/item-master/NO-SUCH-SKU":          {http.StatusNotFound, "sku_unknown"},
		"/v1/support/product-feed/files/12345":         {http.StatusNotFound, "file_unknown"},
		"/v1/support/product-feed/files/abc/rejects":   {http.StatusBadRequest, ""},
		"/v1/support/product-feed/files?page_size=501": {http.StatusBadRequest, ""},
	} {
		resp := h.do(t, http.MethodGet, path, tok, nil)
		p := resp.Problem(t)
		if resp.Status != want.status || (want.reason != "" && p.Reason != want.reason) {
			t.Errorf("%s: %d %+v, want %d %s", path, resp.Status, p, want.status, want.reason)
		}
	}
	if resp := h.do(t, http.MethodGet, "/v1/support/product-feed/files", h.supportToken(t, "ops", "support:write"), nil); resp.Status != http.StatusForbidden {
		t.Errorf("support without support:read: %d, want 403", resp.Status)
	}
	if resp := h.do(t, http.MethodGet, "/v1/support/product-feed/files", h.token(t, demo.DemoCustomerID), nil); resp.Status != http.StatusUnauthorized && resp.Status != http.StatusForbidden {
		t.Errorf("a customer token: %d, want 401 or 403", resp.Status)
	}
}
