package netsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// The sales order status poll reads with SuiteQL, not the record service: the record service's
// q=lastModifiedDate ON_OR_AFTER "<M/D/YYYY>" compares days, so every poll re-read the whole
// day's changes and then fetched each record (a GET per order) for its status. SuiteQL
// compares lastmodifieddate as a date-time and returns the status in the same rows, so a poll
// is one query page (more only past 1,000 changes), whatever the day held.
//
// The query selects the status both as the one-letter code and as BUILTIN.DF's display text
// ("Sales Order : Pending Fulfillment"), and the modification time through TO_CHAR, because
// SuiteQL otherwise formats date-times with the user's date preference, which drops the time.
// NetSuite writes and reads SuiteQL date-times in the session user's time zone: the
// integration's user (role) must be set to GMT/UTC, as docs/vendor-wire.md says.

const querySalesOrderChanges = `SELECT transaction.id AS id, transaction.tranid AS tranid, transaction.externalid AS externalid, ` +
	`transaction.status AS status, BUILTIN.DF(transaction.status) AS statusname, ` +
	`TO_CHAR(transaction.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodified ` +
	`FROM transaction WHERE transaction.type = 'SalesOrd' ` +
	`AND transaction.lastmodifieddate >= TO_TIMESTAMP('%s', 'YYYY-MM-DD HH24:MI:SS') ` +
	`ORDER BY transaction.lastmodifieddate, transaction.id`

// suiteQLStamp is Go's layout for SuiteQL's 'YYYY-MM-DD HH24:MI:SS'.
const suiteQLStamp = "2006-01-02 15:04:05"

// closedStatusCodes are the sales order status codes after which nothing more is fulfilled:
// C Cancelled, H Closed.
var closedStatusCodes = map[string]bool{"C": true, "H": true}

// ListSalesOrderChanges reads the sales orders modified since since (to the second; NetSuite
// keeps no finer), oldest change first.
func (c *Client) ListSalesOrderChanges(ctx context.Context, since time.Time) ([]*erpv1.SalesOrderChange, error) {
	q := fmt.Sprintf(querySalesOrderChanges, since.UTC().Truncate(time.Second).Format(suiteQLStamp))
	rows, err := c.suiteQL(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*erpv1.SalesOrderChange, 0, len(rows))
	for _, row := range rows {
		at, err := time.ParseInLocation(suiteQLStamp, row["lastmodified"], time.UTC)
		if err != nil {
			return nil, toErr(badPayload(fmt.Errorf("sales order %s lastmodified %q: %w", row["id"], row["lastmodified"], err)))
		}
		st := row["statusname"]
		if _, text, ok := strings.Cut(st, " : "); ok { // BUILTIN.DF prefixes the transaction type
			st = text
		}
		out = append(out, &erpv1.SalesOrderChange{SalesOrderId: row["id"], OrderId: row["externalid"], Status: st,
			Closed: closedStatusCodes[row["status"]], ModifiedAt: timestamppb.New(at)})
	}
	return out, nil
}

// suiteQL runs q and returns every row, following each page's "next" link (NetSuite's
// paging: hasMore says another page exists, links name it) and checking it stays on the
// account's host, as the signed request would otherwise go elsewhere.
func (c *Client) suiteQL(ctx context.Context, q string) ([]map[string]string, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]string{"q": q})
	if err != nil {
		return nil, toErr(err)
	}
	u := c.base.JoinPath("services/rest/query/v1/suiteql")
	u.RawQuery = url.Values{"limit": {strconv.Itoa(c.pageSize)}, "offset": {"0"}}.Encode()
	var rows []map[string]string
	for {
		ans, err := c.call(ctx, request{method: http.MethodPost, url: u, body: body, record: "suiteql",
			header: http.Header{"Prefer": {"transient"}, "Content-Type": {"application/json"}}})
		if err != nil {
			return nil, err
		}
		var page struct {
			HasMore bool `json:"hasMore"`
			Links   []struct {
				Rel  string `json:"rel"`
				Href string `json:"href"`
			} `json:"links"`
			Items []map[string]json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(ans.body, &page); err != nil {
			return nil, toErr(badPayload(err))
		}
		for _, item := range page.Items {
			row := map[string]string{}
			for k, v := range item {
				var s string
				if json.Unmarshal(v, &s) == nil { // links and other non-string members are skipped
					row[k] = s
				}
			}
			rows = append(rows, row)
		}
		if !page.HasMore || len(page.Items) == 0 {
			return rows, nil
		}
		next := ""
		for _, l := range page.Links {
			if l.Rel == "next" {
				next = l.Href
			}
		}
		if next == "" {
			return nil, toErr(badPayload(fmt.Errorf("suiteql page says hasMore but links no next page")))
		}
		if u, err = c.sameHost(next); err != nil {
			return nil, err
		}
	}
}

// queryCustomerPayments reads the customer payments created since a time with what settlement
// matches (amount, order, payment reference), in one query page where the record service's
// day filter took a GET per payment of the day.
const queryCustomerPayments = `SELECT transaction.id AS id, ` +
	`TO_CHAR(transaction.createddate, 'YYYY-MM-DD HH24:MI:SS') AS created, transaction.foreigntotal AS amount, ` +
	`transaction.custbody_rb_order_id AS orderid, transaction.custbody_rb_payment_reference AS reference ` +
	`FROM transaction WHERE transaction.type = 'CustPymt' ` +
	`AND transaction.createddate >= TO_TIMESTAMP('%s', 'YYYY-MM-DD HH24:MI:SS') ` +
	`ORDER BY transaction.createddate, transaction.id`

// ListCustomerPayments reads the payments created since since (to the second), oldest first.
func (c *Client) ListCustomerPayments(ctx context.Context, since time.Time) ([]*erpv1.CustomerPayment, error) {
	rows, err := c.suiteQL(ctx, fmt.Sprintf(queryCustomerPayments, since.UTC().Truncate(time.Second).Format(suiteQLStamp)))
	if err != nil {
		return nil, err
	}
	out := make([]*erpv1.CustomerPayment, 0, len(rows))
	for _, row := range rows {
		at, err := time.ParseInLocation(suiteQLStamp, row["created"], time.UTC)
		if err != nil {
			return nil, toErr(badPayload(fmt.Errorf("customer payment %s created %q: %w", row["id"], row["created"], err)))
		}
		amount, err := c.amountOf(json.Number(row["amount"]))
		if err != nil {
			return nil, err
		}
		out = append(out, &erpv1.CustomerPayment{Id: row["id"], OrderId: row["orderid"], PaymentReference: row["reference"],
			Amount: amount, CreatedAt: timestamppb.New(at)})
	}
	return out, nil
}
