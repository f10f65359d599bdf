package productfeed_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/process/productfeed"
	erp "github.com/retailbridge/retailbridge/services/sandbox/productfeed"
)

type fixture struct {
	sb  *erp.Sandbox
	st  *productfeed.Store
	ex  *productfeed.Exchange
	cfg sftpbox.Config
	dir string
}

// start serves the ERP export sandbox over loopback and an exchange pinned to its host key.
func start(t *testing.T, d store.Dialect) *fixture {
	t.Helper()
	client, err := sftpbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sb, err := erp.Start(ln, erp.Options{Dir: dir, AuthorizedKeys: []string{client.Public}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	db := storetest.Open(t, d, store.Options{})
	if err := productfeed.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	cfg := sftpbox.Config{Addr: sb.Addr(), User: sb.User(), PrivateKeyPEM: client.PrivatePEM,
		HostKey: sb.HostKey(), Inbound: erp.Export, Outbound: erp.Reports, Archive: erp.Archive,
		Quarantine: erp.Quarantine}
	box, err := sftpbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := productfeed.NewStore(db)
	return &fixture{sb: sb, st: st, cfg: cfg, dir: dir, ex: &productfeed.Exchange{Box: box, Store: st, Interval: 20 * time.Millisecond}}
}

// dialects runs a test against every store engine.
func dialects(t *testing.T, test func(*testing.T, store.Dialect)) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			test(t, d)
		})
	}
}

// deliver drops a file and polls once, expecting exactly that file taken.
func (f *fixture) deliver(t *testing.T, name string, data []byte) productfeed.FileResult {
	t.Helper()
	if err := f.sb.Drop(name, data); err != nil {
		t.Fatal(err)
	}
	res, err := f.ex.PollOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("poll took %d files, want 1: %+v", len(res), res)
	}
	if waiting, _ := f.sb.Waiting(); len(waiting) != 0 {
		t.Fatalf("files left in the export folder: %v", waiting)
	}
	return res[0]
}

func (f *fixture) report(t *testing.T, name, hash string) [][]string {
	t.Helper()
	data, err := f.sb.Report(productfeed.ReportName(name, hash))
	if err != nil {
		t.Fatalf("report of %s: %v", name, err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (f *fixture) item(t *testing.T, sku string) productfeed.Item {
	t.Helper()
	it, err := f.st.Item(context.Background(), sku)
	if err != nil {
		t.Fatalf("item %s: %v", sku, err)
	}
	return it
}

// TestHappyFileThenResentThenNewVersion: a good file (with a BOM, columns in another order)
// applies every row and reports none; the identical file re-sent changes nothing and is
// archived as a duplicate; a changed file under the same name is a new version that applies
// only what changed.
func TestHappyFileThenResentThenNewVersion(t *testing.T) {
	dialects(t, testHappyFileThenResentThenNewVersion)
}

func testHappyFileThenResentThenNewVersion(t *testing.T, d store.Dialect) {
	f := start(t, d)
	good := erp.MasterCSV(erp.Catalogue(), true)
	res := f.deliver(t, "products.csv", good)
	if res.Kind != productfeed.Master || res.Applied != 4 || res.Rejected != 0 || res.Unchanged != 0 {
		t.Fatalf("first file: %+v", res)
	}
	if it := f.item(t, "SKU-3"); it.PriceMinor != 3550 || it.ERPItemID != "ITM-1003" || it.WarehouseSKU != "WH-SKU-3" || !it.Active {
		t.Fatalf("SKU-3 = %+v", it)
	}
	if it := f.item(t, "SKU-4"); it.Active || it.TaxCode != "EXEMPT" || it.PriceMinor != 2500 {
		t.Fatalf("SKU-4 = %+v", it)
	}
	if rows := f.report(t, "products.csv", res.SHA256); len(rows) != 1 || rows[0][0] != "row" {
		t.Fatalf("clean file's report = %v, want the header only", rows)
	}

	// The report lost (as after a crash between the commit and the write) is written again
	// when the file comes back; nothing else happens.
	if err := os.Remove(filepath.Join(f.dir, erp.Reports, productfeed.ReportName("products.csv", res.SHA256))); err != nil {
		t.Fatal(err)
	}
	again := f.deliver(t, "products.csv", good)
	f.report(t, "products.csv", res.SHA256)
	if !again.Duplicate || again.ID != res.ID {
		t.Fatalf("re-sent file: %+v, want the first file's record", again)
	}
	files, _ := f.st.Files(context.Background(), 10)
	if len(files) != 1 {
		t.Fatalf("%d files recorded after a re-send, want 1", len(files))
	}

	changed := erp.Catalogue()
	changed[1].Price = "45.00"
	v2 := f.deliver(t, "products.csv", erp.MasterCSV(changed, false))
	if v2.Duplicate || v2.ID == res.ID || v2.Applied != 1 || v2.Unchanged != 3 {
		t.Fatalf("changed file: %+v, want a new version with 1 applied, 3 unchanged", v2)
	}
	if it := f.item(t, "SKU-2"); it.PriceMinor != 4500 {
		t.Fatalf("SKU-2 price %d, want 4500", it.PriceMinor)
	}
	archived, _ := f.sb.Archived()
	if len(archived) != 3 {
		t.Fatalf("archive holds %v, want both versions and the duplicate", archived)
	}
}

// TestBadRowsReportedGoodRowsApplied: each bad row is in the outbound report and the API with
// its row, column and reason; the good rows are in the item master.
func TestBadRowsReportedGoodRowsApplied(t *testing.T) {
	dialects(t, testBadRowsReportedGoodRowsApplied)
}

func testBadRowsReportedGoodRowsApplied(t *testing.T, d store.Dialect) {
	f := start(t, d)
	res := f.deliver(t, "products-bad.csv", erp.WithBadRows())
	if res.Applied != 4 || res.Rejected != 6 || res.Rows != 10 {
		t.Fatalf("result %+v, want 4 applied and 6 rejected of 10", res)
	}
	want := [][]string{
		{"row", "column", "value", "reason"},
		{"6", "sku", "", "is empty"},
		{"7", "price", "10.001", `"10.001" has more than 2 decimal places for EUR`},
		{"8", "currency", "EURO", "is not a three-letter ISO 4217 code"},
		{"9", "active", "maybe", "must be true or false"},
		{"10", "", "", "has 8 fields, the header has 9"},
		{"11", "sku", "SKU-1", "duplicate of row 2"},
	}
	got := f.report(t, "products-bad.csv", res.SHA256)
	if len(got) != len(want) {
		t.Fatalf("report = %v", got)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("report row %d = %q, want %q", i, got[i], want[i])
		}
	}
	if it := f.item(t, "SKU-1"); it.Title != "Canvas tote" {
		t.Fatalf("SKU-1 = %+v: the duplicate row must not apply", it)
	}
	if _, err := f.st.Item(context.Background(), "SKU-22"); err == nil {
		t.Fatal("a rejected row reached the item master")
	}

	srv := httptest.NewServer(productfeed.Handler(f.st))
	defer srv.Close()
	var body struct {
		Rejects []productfeed.Reject `json:"rejects"`
	}
	getJSON(t, srv.URL+"/v1/product-feed/files/"+itoa(res.ID)+"/rejects", http.StatusOK, &body)
	if len(body.Rejects) != 6 || body.Rejects[1].Column != "price" || body.Rejects[1].Line != 7 {
		t.Fatalf("API rejects = %+v", body.Rejects)
	}
	var item map[string]any
	getJSON(t, srv.URL+"/v1/item-master/SKU-3", http.StatusOK, &item)
	if item["price"] != "35.50" || item["warehouse_sku"] != "WH-SKU-3" {
		t.Fatalf("API item = %v", item)
	}
	var problem map[string]any
	getJSON(t, srv.URL+"/v1/item-master/NOPE", http.StatusNotFound, &problem)
	if problem["reason"] != "sku_unknown" {
		t.Fatalf("unknown SKU problem = %v", problem)
	}
	getJSON(t, srv.URL+"/v1/product-feed/files/x/rejects", http.StatusBadRequest, &problem)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/product-feed/files/"+itoa(res.ID)+"/rejects", nil)
	req.Header.Set("Accept", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	apiCSV, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(apiCSV) != len(want) || strings.Join(apiCSV[5], "|") != strings.Join(want[5], "|") {
		t.Fatalf("API report CSV = %v, %v; want the outbound report", apiCSV, err)
	}
	var list struct {
		Files []productfeed.FileResult `json:"files"`
	}
	getJSON(t, srv.URL+"/v1/product-feed/files", http.StatusOK, &list)
	if len(list.Files) != 1 || list.Files[0].ID != res.ID || list.Files[0].Rejected != 6 {
		t.Fatalf("API files = %+v", list.Files)
	}
}

// TestUnreadableFileQuarantined: a file with broken quoting, one that is not UTF-8 and one
// without the required header are set aside with their reason; nothing is applied.
func TestUnreadableFileQuarantined(t *testing.T) { dialects(t, testUnreadableFileQuarantined) }

func testUnreadableFileQuarantined(t *testing.T, d store.Dialect) {
	f := start(t, d)
	cases := map[string][]byte{
		"broken-quote.csv": erp.Unreadable(),
		"latin1.csv":       []byte("sku,title,erp_item_id,variant_id,warehouse_sku,price,currency,tax_code,active\nSKU-9,Caf\xe9,I,V,W,1.00,EUR,STD,true\n"),
		"no-header.csv":    []byte("SKU-9,Scarf,I,V,W,1.00,EUR,STD,true\n"),
	}
	for name, data := range cases {
		res := f.deliver(t, name, data)
		if res.Status != productfeed.StatusQuarantined || res.Reason == "" {
			t.Fatalf("%s: %+v, want quarantined with a reason", name, res)
		}
	}
	q, _ := f.sb.Quarantined()
	if len(q) != 2*len(cases) {
		t.Fatalf("quarantine holds %v, want each file and its reason", q)
	}
	if _, err := f.st.Item(context.Background(), "SKU-9"); err == nil {
		t.Fatal("a quarantined file's row reached the item master")
	}
}

// TestPricesFile: a prices file updates known SKUs and rejects unknown ones.
func TestPricesFile(t *testing.T) { dialects(t, testPricesFile) }

func testPricesFile(t *testing.T, d store.Dialect) {
	f := start(t, d)
	f.deliver(t, "products.csv", erp.MasterCSV(erp.Catalogue(), false))
	res := f.deliver(t, "prices.csv", erp.PricesCSV([][3]string{{"SKU-1", "17.50", "EUR"}, {"SKU-2", "49", "EUR"}, {"SKU-99", "1", "EUR"}}))
	if res.Kind != productfeed.Prices || res.Applied != 1 || res.Unchanged != 1 || res.Rejected != 1 {
		t.Fatalf("prices file: %+v", res)
	}
	if it := f.item(t, "SKU-1"); it.PriceMinor != 1750 || it.Title != "Canvas tote" {
		t.Fatalf("SKU-1 = %+v", it)
	}
	rows := f.report(t, "prices.csv", res.SHA256)
	if len(rows) != 2 || rows[1][1] != "sku" || rows[1][2] != "SKU-99" {
		t.Fatalf("prices report = %v", rows)
	}
}

// TestHostKeyMismatchRefused: an exchange pinned to another key takes nothing and says why.
func TestHostKeyMismatchRefused(t *testing.T) { dialects(t, testHostKeyMismatchRefused) }

func testHostKeyMismatchRefused(t *testing.T, d store.Dialect) {
	f := start(t, d)
	if err := f.sb.Drop("products.csv", erp.MasterCSV(erp.Catalogue(), false)); err != nil {
		t.Fatal(err)
	}
	other, _ := sftpbox.GenerateKey()
	cfg := f.cfg
	cfg.HostKey = other.Public
	box, err := sftpbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ex := &productfeed.Exchange{Box: box, Store: f.st}
	if _, err := ex.PollOnce(context.Background()); !errors.Is(err, sftpbox.ErrHostKey) {
		t.Fatalf("poll against another host key: %v, want ErrHostKey", err)
	}
	if waiting, _ := f.sb.Waiting(); len(waiting) != 1 {
		t.Fatalf("export folder %v: the file must stay", waiting)
	}
	if files, _ := f.st.Files(context.Background(), 10); len(files) != 0 {
		t.Fatalf("files recorded through a refused server: %+v", files)
	}
}

// TestRunPollsOnSchedule: the scheduled loop takes a file dropped while it runs.
func TestRunPollsOnSchedule(t *testing.T) { dialects(t, testRunPollsOnSchedule) }

func testRunPollsOnSchedule(t *testing.T, d store.Dialect) {
	f := start(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.ex.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := f.sb.Drop("products.csv", erp.MasterCSV(erp.Catalogue(), false)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the scheduled poll applies the file", func() bool {
		_, err := f.st.Item(context.Background(), "SKU-2")
		return err == nil
	})
}

func getJSON(t *testing.T, url string, status int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d", url, resp.StatusCode, status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
