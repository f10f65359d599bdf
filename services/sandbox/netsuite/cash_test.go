package netsuite

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// TestCashSurvivesRestart: an invoice, the customer payment applied to it and the bookkeeper's
// deposit of it are in the write journal; after a restart the payment is Deposited, the deposit
// lists it, a second payment under the same external id is refused, and the listing by
// createdDate finds both records.
func TestCashSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ds := demo.Generate(3, testNow, 2, 2)
	opts := Options{Now: func() time.Time { return testNow }, StateDir: dir}
	first, err := Open(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	o := ds.Scenario(demo.ScenarioUnfulfilled)
	so, _ := first.SalesOrderID(o.ID)
	var items string
	for i, l := range o.Lines {
		if i > 0 {
			items += ","
		}
		items += `{"orderLine":` + itoa(i+1) + `,"itemReceive":true,"quantity":` + itoa(l.Quantity) + `,"location":{"id":"1"}}`
	}
	outcomeOf(t, first, submit(t, first, http.MethodPost, recordPath+"salesOrder/"+so+"/!transform/itemFulfillment", `{"item":{"items":[`+items+`]}}`, key(1)))
	inv := createdRecord(t, outcomeOf(t, first, submit(t, first, http.MethodPost, recordPath+"salesOrder/"+so+"/!transform/invoice", `{}`, key(2))), TypeInvoice)
	pay := `{"externalId":"payment-` + o.ID + `","customer":{"externalId":"` + o.CustomerID + `"},"payment":12.34,"undepFunds":true,` +
		`"custbody_rb_order_id":"` + o.ID + `","apply":{"items":[{"doc":{"id":"` + inv + `"},"apply":true,"amount":12.34}]}}`
	payment := createdRecord(t, outcomeOf(t, first, submit(t, first, http.MethodPost, recordPath+"customerPayment", pay, key(3))), TypeCustomerPayment)
	dep, err := first.RecordDeposit("po_restart", []string{o.ID}, 34)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Open(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := statusOf(record(t, second, TypeCustomerPayment, payment)); got != "Deposited" {
		t.Errorf("payment after restart is %v; want Deposited", got)
	}
	d := getJSON(t, second, recordPath+"deposit/"+dep+"?expandSubResources=true")
	if path(d, "memo") != "po_restart" || path(d, "total") != 12.0 || path(d, "payment", "items", 0, "doc", "id") != payment {
		t.Errorf("deposit after restart = %v", d)
	}
	wantError(t, outcomeOf(t, second, submit(t, second, http.MethodPost, recordPath+"customerPayment", pay, key(4))), http.StatusBadRequest, "DUP_RCRD")
	for _, typ := range []string{TypeCustomerPayment, TypeDeposit} {
		list := getJSON(t, second, recordPath+typ+`?q=createdDate+ON_OR_AFTER+"`+testNow.Format("1/2/2006")+`"`)
		if path(list, "totalResults") != 1.0 {
			t.Errorf("%s listing after restart = %v; want 1", typ, list)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
