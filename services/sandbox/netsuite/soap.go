package netsuite

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/money"
)

// SuiteTalk SOAP web services: the sandbox serves the getList operation for inventory items
// (the operation family the connector uses SOAP for) at the 2024.2 endpoint, authenticated by
// the token passport, under the same account concurrency limit as REST: a request over it is
// refused with ExceededConcurrentRequestLimitFault (WS_REQUEST_BLOCKED), as NetSuite does for
// token-based authentication.

// SOAPPath is the SOAP endpoint of the 2024.2 WSDL.
const SOAPPath = "/services/NetSuitePort_2024_2"

// WSDL namespaces of the 2024.2 endpoint.
const (
	nsSOAPEnv  = "http://schemas.xmlsoap.org/soap/envelope/"
	nsMessages = "urn:messages_2024_2.platform.webservices.netsuite.com"
	nsCore     = "urn:core_2024_2.platform.webservices.netsuite.com"
	nsFaults   = "urn:faults_2024_2.platform.webservices.netsuite.com"
	nsAcct     = "urn:accounting_2024_2.lists.webservices.netsuite.com"
	nsXSI      = "http://www.w3.org/2001/XMLSchema-instance"
)

// soapRequest is what the sandbox reads of a request envelope.
type soapRequest struct {
	Header struct {
		Passport *struct {
			Account     string `xml:"account"`
			ConsumerKey string `xml:"consumerKey"`
			Token       string `xml:"token"`
			Nonce       string `xml:"nonce"`
			Timestamp   string `xml:"timestamp"`
			Signature   struct {
				Algorithm string `xml:"algorithm,attr"`
				Value     string `xml:",chardata"`
			} `xml:"signature"`
		} `xml:"tokenPassport"`
	} `xml:"Header"`
	Body struct {
		GetList *struct {
			BaseRef []struct {
				Type       string `xml:"type,attr"`
				InternalID string `xml:"internalId,attr"`
				ExternalID string `xml:"externalId,attr"`
			} `xml:"baseRef"`
		} `xml:"getList"`
	} `xml:"Body"`
}

func (s *Sandbox) soapHandler() http.Handler {
	return s.counted(s.duringMaintenance(s.governedBy(func(w http.ResponseWriter) {
		writeFault(w, "exceededConcurrentRequestLimitFault", "WS_REQUEST_BLOCKED",
			"The request could not be processed because the account has exceeded its concurrent request limit.")
	}, s.faults.Middleware(http.HandlerFunc(s.serveSOAP)))))
}

// serveSOAP answers one SOAP request.
func (s *Sandbox) serveSOAP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	var env soapRequest
	if err != nil || r.Method != http.MethodPost || xml.Unmarshal(body, &env) != nil {
		writeFault(w, "", "INVALID_REQUEST", "The request is not a SOAP envelope.")
		return
	}
	if reason := s.checkPassport(&env); reason != "" {
		s.unauthorized.Add(1)
		w.Header().Set("X-Sandbox-Auth-Failure", reason)
		writeFault(w, "invalidCredentialsFault", "INVALID_LOGIN_ATTEMPT", "Invalid login attempt.")
		return
	}
	if env.Body.GetList == nil || strings.Trim(r.Header.Get("SOAPAction"), `"`) != "getList" {
		writeFault(w, "", "UNSUPPORTED_OPERATION", "The sandbox emulates the getList operation only.")
		return
	}
	var out strings.Builder
	out.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="` + nsSOAPEnv + `" xmlns:xsi="` + nsXSI +
		`"><soapenv:Body><getListResponse xmlns="` + nsMessages + `"><platformCore:readResponseList xmlns:platformCore="` + nsCore +
		`"><platformCore:status isSuccess="true"/>`)
	for _, ref := range env.Body.GetList.BaseRef {
		i, ok := s.bySKU[ref.ExternalID]
		if ref.ExternalID == "" {
			i, ok = s.byID[ref.InternalID]
		}
		if !ok || ref.Type != "inventoryItem" {
			out.WriteString(`<platformCore:readResponse><platformCore:status isSuccess="false"><platformCore:statusDetail type="ERROR">` +
				`<platformCore:code>RCRD_DSNT_EXIST</platformCore:code><platformCore:message>That record does not exist.</platformCore:message>` +
				`</platformCore:statusDetail></platformCore:status></platformCore:readResponse>`)
			continue
		}
		s.writeSOAPItem(&out, i)
	}
	out.WriteString(`</platformCore:readResponseList></getListResponse></soapenv:Body></soapenv:Envelope>`)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = io.WriteString(w, out.String())
}

func (s *Sandbox) writeSOAPItem(out *strings.Builder, i int) {
	it := s.items[i]
	esc := func(v string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(v))
		return b.String()
	}
	fmt.Fprintf(out, `<platformCore:readResponse><platformCore:status isSuccess="true"/>`+
		`<record xmlns:listAcct="%s" xsi:type="listAcct:InventoryItem" internalId="%s" externalId="%s">`+
		`<listAcct:lastModifiedDate>%s</listAcct:lastModifiedDate><listAcct:itemId>%s</listAcct:itemId>`+
		`<listAcct:displayName>%s</listAcct:displayName>`+
		`<listAcct:pricingMatrix><listAcct:pricing><listAcct:currency internalId="1"><platformCore:name>USA</platformCore:name></listAcct:currency>`+
		`<listAcct:priceLevel internalId="1"><platformCore:name>Base Price</platformCore:name></listAcct:priceLevel>`+
		`<listAcct:priceList><listAcct:price><listAcct:value>%s</listAcct:value><listAcct:quantity>0.0</listAcct:quantity></listAcct:price></listAcct:priceList>`+
		`</listAcct:pricing></listAcct:pricingMatrix><listAcct:customFieldList>`+
		`<platformCore:customField xsi:type="platformCore:BooleanCustomFieldRef" scriptId="custitem_rb_returnable"><platformCore:value>%t</platformCore:value></platformCore:customField>`+
		`<platformCore:customField xsi:type="platformCore:BooleanCustomFieldRef" scriptId="custitem_rb_final_sale"><platformCore:value>%t</platformCore:value></platformCore:customField>`,
		nsAcct, esc(it.ERPID), esc(it.SKU), s.asOf.Format("2006-01-02T15:04:05.000-07:00"), esc(it.SKU), esc(it.Title),
		money.FormatDecimal(it.PriceMinor, "USD"), it.Returnable, it.FinalSale)
	if it.WindowDays > 0 {
		fmt.Fprintf(out, `<platformCore:customField xsi:type="platformCore:LongCustomFieldRef" scriptId="custitem_rb_return_window_days"><platformCore:value>%d</platformCore:value></platformCore:customField>`, it.WindowDays)
	}
	if c := toReturnCategory(it.Category); c != nil {
		fmt.Fprintf(out, `<platformCore:customField xsi:type="platformCore:SelectCustomFieldRef" scriptId="custitem_rb_return_category">`+
			`<platformCore:value internalId="%s" typeId="1"><platformCore:name>%s</platformCore:name></platformCore:value></platformCore:customField>`, c.ID, esc(c.RefName))
	}
	out.WriteString(`</listAcct:customFieldList></record></platformCore:readResponse>`)
}

// checkPassport verifies the token passport: the signature is Base64(HMAC-SHA256(consumer
// secret & token secret, account & consumer key & token & nonce & timestamp)).
func (s *Sandbox) checkPassport(env *soapRequest) string {
	p := env.Header.Passport
	switch {
	case p == nil:
		return "no_token_passport"
	case !strings.EqualFold(p.Account, s.opts.Account):
		return "wrong_account"
	case p.ConsumerKey != s.opts.ConsumerKey:
		return "unknown_consumer_key"
	case p.Token != s.opts.TokenID:
		return "unknown_token"
	case len(p.Nonce) < 6 || len(p.Nonce) > 64:
		return "bad_nonce"
	case p.Signature.Algorithm != "HMAC-SHA256":
		return "unsupported_signature_method"
	}
	ts, err := strconv.ParseInt(p.Timestamp, 10, 64)
	now := s.opts.Now()
	if err != nil {
		return "bad_timestamp"
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxClockSkew || d < -maxClockSkew {
		return "stale_timestamp"
	}
	mac := hmac.New(sha256.New, []byte(s.opts.ConsumerSecret+"&"+s.opts.TokenSecret))
	mac.Write([]byte(strings.Join([]string{p.Account, p.ConsumerKey, p.Token, p.Nonce, p.Timestamp}, "&")))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.TrimSpace(p.Signature.Value))) != 1 {
		return "bad_signature"
	}
	if !s.nonces.use("soap:"+p.Nonce, now) {
		return "replayed_nonce"
	}
	return ""
}

// writeFault answers a SOAP 1.1 fault (HTTP 500) whose detail is the named NetSuite fault.
func writeFault(w http.ResponseWriter, fault, code, msg string) {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(msg))
	detail := ""
	if fault != "" {
		detail = `<detail><platformFaults:` + fault + ` xmlns:platformFaults="` + nsFaults + `"><platformFaults:code>` + code +
			`</platformFaults:code><platformFaults:message>` + b.String() + `</platformFaults:message></platformFaults:` + fault + `></detail>`
	}
	faultcode := "soapenv:Server.userException"
	if fault == "" {
		faultcode = "soapenv:Client"
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="`+nsSOAPEnv+
		`"><soapenv:Body><soapenv:Fault><faultcode>`+faultcode+`</faultcode><faultstring>`+b.String()+`</faultstring>`+detail+
		`</soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
}
