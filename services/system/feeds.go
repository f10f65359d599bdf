package system

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	feedsb "github.com/retailbridge/retailbridge/services/sandbox/productfeed"
)

// Feeds are the scheduled file exchanges that are no system kind's vendor: they arrive next to
// whichever vendors are selected and feed a process store with reference data, not events
// (docs/flat-files.md). Each is registered like a vendor for what the stack does with vendors'
// sandboxes — dev and `serve sandboxes` start it, print it in the banner, and hand its Env to
// the process component that reads the feed — and for nothing else.
var Feeds = []vendors.Vendor{
	// The ERP's product master export over SFTP, read by the inventory process's product feed.
	{Name: "productfeed", SandboxAddr: "127.0.0.1:9307", Sandbox: productFeedSandbox},
}

// productFeedSandbox serves the ERP's export folder over SFTP (its folders and host key under
// the state directory), accepting the configured key (a new one when unset), with the demo
// catalogue exported as an opening product master file. Fast and Manual poll it every second.
func productFeedSandbox(d vendors.SandboxDeps) (vendors.Sandbox, error) {
	key, err := feedClientKey(d.Lookup)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	dir := filepath.Join(d.StateDir, "productfeed")
	if d.StateDir == "" {
		if dir, err = os.MkdirTemp("", "productfeed-sandbox-"); err != nil {
			return vendors.Sandbox{}, err
		}
	}
	ln, err := net.Listen("tcp", cmp.Or(d.Addr, "127.0.0.1:0"))
	if err != nil {
		return vendors.Sandbox{}, err
	}
	sb, err := feedsb.Start(ln, feedsb.Options{Dir: dir, AuthorizedKeys: []string{key.Public}})
	if err != nil {
		ln.Close()
		return vendors.Sandbox{}, err
	}
	if ds, _ := demo.From(d.Demo); ds != nil {
		if err := sb.Drop("product-master.csv", feedsb.MasterCSV(demoCatalogue(ds), false)); err != nil {
			sb.Close()
			return vendors.Sandbox{}, fmt.Errorf("productfeed sandbox: %w", err)
		}
	}
	interval := "30s"
	if d.Fast || d.Manual {
		interval = "1s"
	}
	return vendors.Sandbox{URL: "sftp://" + sb.Addr(), Value: sb, Close: func() { sb.Close() },
		Env: map[string]string{"PRODUCT_FEED_SFTP_ADDR": sb.Addr(), "PRODUCT_FEED_SFTP_HOST_KEY": strings.TrimSpace(sb.HostKey()),
			"PRODUCT_FEED_SFTP_PRIVATE_KEY": base64.StdEncoding.EncodeToString(key.PrivatePEM), "RB_PRODUCT_FEED_INTERVAL": interval}}, nil
}

// demoCatalogue is the demo dataset's items as the ERP exports them: the SKUs every other
// sandbox sells and stocks, each under the id the warehouse sandbox stocks it as (its SKU), so
// the dev world's item master agrees with itself (e2e TestInventoryDevWorldHasNoMismatches).
func demoCatalogue(ds *demo.Dataset) []feedsb.Item {
	out := make([]feedsb.Item, 0, len(ds.Items))
	for _, it := range ds.Items {
		wh, tax := it.SKU, "STD"
		if it.Category == "gift_card" {
			wh, tax = "", "EXEMPT"
		}
		out = append(out, feedsb.Item{SKU: it.SKU, Title: it.Title, ERPItemID: it.ERPID, WarehouseSKU: wh,
			Price: money.FormatDecimal(it.PriceMinor, "USD"), Currency: "USD", TaxCode: tax, Active: "true"})
	}
	return out
}

// feedClientKey is the key the exchange logs in with: the configured one, or a new one.
func feedClientKey(lookup func(string) string) (sftpbox.KeyPair, error) {
	v := lookup("PRODUCT_FEED_SFTP_PRIVATE_KEY")
	if v == "" {
		return sftpbox.GenerateKey()
	}
	pem := []byte(v)
	if !strings.Contains(v, "PRIVATE KEY") {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			return sftpbox.KeyPair{}, fmt.Errorf("PRODUCT_FEED_SFTP_PRIVATE_KEY: %w", err)
		}
		pem = b
	}
	pub, err := sftpbox.PublicOf(pem)
	return sftpbox.KeyPair{PrivatePEM: pem, Public: pub}, err
}
