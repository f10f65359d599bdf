package businesscentral

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// reply is one answer of the API, written to the wire or into a $batch response.
type reply struct {
	status int
	body   any
	etag   string
	// changed names the document a successful write touched, for webhook notifications.
	changed *change
}

type change struct{ set, id, kind string }

func fail(status int, code, msg string) reply {
	return reply{status: status, body: map[string]any{"error": map[string]string{"code": code, "message": msg}}}
}

func notFound(what string) reply {
	return fail(http.StatusNotFound, "BadRequest_NotFound", "The "+what+" does not exist. Identification fields and values: Id='…'")
}

func dialog(msg string) reply { return fail(http.StatusBadRequest, "Application_DialogException", msg) }

// route serves one API request (the middleware has admitted it).
func (s *Sandbox) route(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, s.APIRoot())
	var rep reply
	switch {
	case rest == "v2.0/$batch" && r.Method == http.MethodPost:
		rep = s.batch(r, body)
	case rest == "v2.0/subscriptions" || strings.HasPrefix(rest, "v2.0/subscriptions("):
		rep = s.subs.serve(r.Context(), r.Method, rest, body)
	default:
		s.ledger.mu.Lock()
		rep = s.dispatchLocked(r.Method, rest, r.URL.Query(), r.Header.Get("If-Match"), body)
		if rep.status < 300 && r.Method != http.MethodGet {
			if err := s.ledger.persistLocked(); err != nil {
				rep = fail(http.StatusInternalServerError, "Internal_ServerError", err.Error())
			}
		}
		s.ledger.mu.Unlock()
	}
	if rep.changed != nil {
		s.subs.changed(rep.changed.set, rep.changed.id, rep.changed.kind)
	}
	if r.Method != http.MethodGet && rep.status < 300 {
		s.holdWrite(r)
	}
	writeReply(w, rep)
}

// holdWrite delays a write's answer by the write delay, or until the client gives up.
func (s *Sandbox) holdWrite(r *http.Request) {
	d := time.Duration(s.writeDelay.Load())
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func writeReply(w http.ResponseWriter, rep reply) {
	if rep.etag != "" {
		w.Header().Set("ETag", rep.etag)
	}
	if rep.body == nil {
		w.WriteHeader(rep.status)
		return
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8")
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(rep.body)
}

// path is a parsed API path below the company.
type path struct {
	group, set, id, action string
}

// parsePath reads "v2.0/companies({cid})/{set}[({id})][/{action}]" and the extension's
// "retailbridge/returns/v1.0/companies(…)/…"; ok is false for anything else.
func (s *Sandbox) parsePath(rest string) (path, bool) {
	var p path
	switch {
	case strings.HasPrefix(rest, "v2.0/"):
		p.group, rest = "v2.0", strings.TrimPrefix(rest, "v2.0/")
	case strings.HasPrefix(rest, "retailbridge/returns/v1.0/"):
		p.group, rest = "returns", strings.TrimPrefix(rest, "retailbridge/returns/v1.0/")
	case strings.HasPrefix(rest, "microsoft/analytics/v1.0/"):
		p.group, rest = "analytics", strings.TrimPrefix(rest, "microsoft/analytics/v1.0/")
	default:
		return p, false
	}
	segs := strings.Split(rest, "/")
	if segs[0] == "companies" || segs[0] == "companies("+s.opts.CompanyID+")" && len(segs) == 1 {
		p.set = "companies"
		return p, true
	}
	if segs[0] != "companies("+s.opts.CompanyID+")" || len(segs) < 2 || len(segs) > 3 {
		return p, false
	}
	p.set = segs[1]
	if i := strings.IndexByte(p.set, '('); i > 0 && strings.HasSuffix(p.set, ")") {
		p.set, p.id = p.set[:i], strings.Trim(p.set[i+1:len(p.set)-1], "'")
	}
	if len(segs) == 3 {
		p.action = segs[2]
	}
	allowed := map[string][]string{
		"v2.0": {SetItems, SetCustomers, SetSalesOrders, SetSalesCreditMemos, SetCustomerPaymentJournals, SetCustomerPayments,
			SetSalesInvoices},
		"returns": {SetReturnItems, SetReturnOrders, SetReturnReceipts, SetInventoryAdjustments, SetOrderShipments, SetOrderInvoices,
			SetBankDeposits},
		"analytics": {SetItemLedgerEntries},
	}
	for _, a := range allowed[p.group] {
		if a == p.set {
			return p, true
		}
	}
	return p, false
}

// dispatchLocked serves one request against the ledger (mu held).
func (s *Sandbox) dispatchLocked(method, rest string, q url.Values, ifMatch string, body []byte) reply {
	p, ok := s.parsePath(rest)
	if !ok {
		return fail(http.StatusNotFound, "BadRequest_NotFound", "No HTTP resource was found that matches the request URI.")
	}
	if p.set == "companies" {
		return reply{status: http.StatusOK, body: s.company()}
	}
	l := s.ledger
	if p.set == SetItemLedgerEntries {
		if method != http.MethodGet || p.id != "" {
			return fail(http.StatusMethodNotAllowed, "BadRequest_MethodNotAllowed", "Item ledger entries are read only, as a collection.")
		}
		return l.itemLedgerLocked(q)
	}
	switch {
	case method == http.MethodGet && p.id == "":
		return l.listLocked(p.set, q)
	case method == http.MethodGet && p.action == "":
		return l.getLocked(p.set, p.id, q.Get("$expand"))
	case method == http.MethodPost && p.id == "":
		return l.createLocked(p.set, body)
	case method == http.MethodPost && p.action != "":
		return l.actionLocked(p.set, p.id, p.action)
	case method == http.MethodPatch && p.id != "" && p.action == "":
		return l.patchLocked(p.set, p.id, ifMatch, body)
	case method == http.MethodDelete && p.id != "" && p.action == "":
		return l.deleteLocked(p.set, p.id, ifMatch)
	}
	return fail(http.StatusMethodNotAllowed, "BadRequest_MethodNotAllowed", "'"+method+"' is not allowed on this resource.")
}

func (s *Sandbox) company() map[string]any {
	c := map[string]any{"id": s.opts.CompanyID, "systemVersion": "26.0.0.0", "name": "CRONUS USA, Inc.",
		"displayName": "CRONUS USA, Inc."}
	return map[string]any{"value": []any{c}}
}

// listLocked answers a collection GET with $filter ("field eq 'v'" or "startswith(field,'v')",
// joined by "and") and $expand of the lines.
func (l *ledger) listLocked(set string, q url.Values) reply {
	conds, ok := parseFilter(q.Get("$filter"))
	if !ok {
		return fail(http.StatusBadRequest, "BadRequest_InvalidFilter", "The filter expression is not supported.")
	}
	var out []any
	for _, e := range l.entitiesLocked(set, q.Get("$expand")) {
		if matches(e, conds) {
			out = append(out, e)
		}
	}
	if out == nil {
		out = []any{}
	}
	return reply{status: http.StatusOK, body: map[string]any{"value": out}}
}

func (l *ledger) getLocked(set, id, expand string) reply {
	switch set {
	case SetItems, SetReturnItems, SetCustomers, SetSalesInvoices:
		for _, e := range l.entitiesLocked(set, "") {
			if e["id"] == id {
				return reply{status: http.StatusOK, body: e}
			}
		}
		return notFound(set)
	}
	d, ok := l.docs[id]
	if !ok || d.Set != set {
		return notFound(set)
	}
	return reply{status: http.StatusOK, body: l.render(d, expand), etag: d.etag()}
}

type cond struct {
	field, value string
	prefix       bool
	// after compares a date-time field: it must be later than value.
	after bool
	// anyOf: "field eq a or field eq b …", the field equal to one of them.
	anyOf []string
}

func parseFilter(f string) ([]cond, bool) {
	if strings.TrimSpace(f) == "" {
		return nil, true
	}
	var out []cond
	for _, part := range strings.Split(f, " and ") {
		part = strings.TrimSpace(part)
		if inner, ok := strings.CutPrefix(part, "startswith("); ok && strings.HasSuffix(inner, ")") {
			field, val, ok := strings.Cut(strings.TrimSuffix(inner, ")"), ",")
			if !ok || !quoted(val) {
				return nil, false
			}
			out = append(out, cond{field: strings.TrimSpace(field), value: unquote(val), prefix: true})
			continue
		}
		if field, val, ok := strings.Cut(part, " gt "); ok {
			if _, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(val)); err != nil {
				return nil, false
			}
			out = append(out, cond{field: strings.TrimSpace(field), value: strings.TrimSpace(val), after: true})
			continue
		}
		c, ok := parseEq(part)
		if !ok {
			return nil, false
		}
		out = append(out, c)
	}
	return out, true
}

// parseEq reads "field eq value", or alternatives of the same field joined by "or"; a value is
// a string literal or a bare GUID (OData's Edm.Guid literal).
func parseEq(part string) (cond, bool) {
	var c cond
	for i, alt := range strings.Split(strings.Trim(strings.TrimSpace(part), "()"), " or ") {
		field, val, ok := strings.Cut(strings.TrimSpace(alt), " eq ")
		field, val = strings.TrimSpace(field), strings.TrimSpace(val)
		switch {
		case !ok || (i > 0 && field != c.field):
			return cond{}, false
		case quoted(val):
			val = unquote(val)
		case !bareGUID(val):
			return cond{}, false
		}
		c.field = field
		c.anyOf = append(c.anyOf, val)
	}
	c.value = c.anyOf[0]
	return c, true
}

func bareGUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	for i, r := range v {
		if (i == 8 || i == 13 || i == 18 || i == 23) != (r == '-') ||
			(r != '-' && !strings.ContainsRune("0123456789abcdefABCDEF", r)) {
			return false
		}
	}
	return true
}

func quoted(v string) bool {
	v = strings.TrimSpace(v)
	return len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\''
}

// unquote reads an OData string literal, where ” is one quote.
func unquote(v string) string {
	v = strings.TrimSpace(v)
	return strings.ReplaceAll(v[1:len(v)-1], "''", "'")
}

func matches(e map[string]any, conds []cond) bool {
	for _, c := range conds {
		v, _ := e[c.field].(string)
		if c.after {
			got, err1 := time.Parse(time.RFC3339Nano, v)
			limit, err2 := time.Parse(time.RFC3339Nano, c.value)
			if err1 != nil || err2 != nil || !got.After(limit) {
				return false
			}
			continue
		}
		if c.prefix && !strings.HasPrefix(v, c.value) || !c.prefix && c.anyOf == nil && v != c.value {
			return false
		}
		if c.anyOf != nil && !slices.Contains(c.anyOf, v) {
			return false
		}
	}
	return true
}

// decode reads a JSON body with numbers kept exact.
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(v)
}
