package netsuite

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// SuiteTalk SOAP web services, for one operation family: getList of inventory items by
// external id. SOAP is the better path for item lookups: one getList reads many records, each
// answered with its own status (a SKU NetSuite does not know is a per-record RCRD_DSNT_EXIST,
// not a failed call), so a GetItems of 60 SKUs takes one request — one of the account's
// concurrency slots — where the REST record service needs 60. The types below are written
// against the 2024.2 WSDL (messages, core, faults and accounting-lists namespaces). SOAP
// requests hold the same concurrency slots, maintenance window and retry policy as REST ones:
// NetSuite governs both against one account limit, and answers a SOAP request over it with
// ExceededConcurrentRequestLimitFault (WS_REQUEST_BLOCKED) where REST gets 429.

// soapEndpoint is the SOAP endpoint path of the WSDL version the types are written against.
const soapEndpoint = "services/NetSuitePort_2024_2"

// WSDL 2024.2 namespaces.
const (
	nsSOAPEnv  = "http://schemas.xmlsoap.org/soap/envelope/"
	nsMessages = "urn:messages_2024_2.platform.webservices.netsuite.com"
	nsCore     = "urn:core_2024_2.platform.webservices.netsuite.com"
	nsXSI      = "http://www.w3.org/2001/XMLSchema-instance"
)

// getListChunk is how many records one getList asks for.
const getListChunk = 100

// Item lookup paths (Config.ItemLookup).
const (
	LookupREST = "rest"
	LookupSOAP = "soap"
)

// tokenPassport is the TokenPassport complex type (core XSD).
type tokenPassport struct {
	XMLName     xml.Name `xml:"platformMsgs:tokenPassport"`
	Account     string   `xml:"platformCore:account"`
	ConsumerKey string   `xml:"platformCore:consumerKey"`
	Token       string   `xml:"platformCore:token"`
	Nonce       string   `xml:"platformCore:nonce"`
	Timestamp   int64    `xml:"platformCore:timestamp"`
	Signature   struct {
		Algorithm string `xml:"algorithm,attr"`
		Value     string `xml:",chardata"`
	} `xml:"platformCore:signature"`
}

// passport signs a fresh token passport: Base64(HMAC-SHA256(consumer secret & token secret,
// account & consumer key & token & nonce & timestamp)). Every request needs a new nonce.
func (s signer) passport() tokenPassport {
	p := tokenPassport{Account: s.realm, ConsumerKey: s.consumerKey, Token: s.tokenID, Nonce: s.nonce(), Timestamp: s.now().Unix()}
	mac := hmac.New(sha256.New, []byte(s.consumerSecret+"&"+s.tokenSecret))
	mac.Write([]byte(strings.Join([]string{p.Account, p.ConsumerKey, p.Token, p.Nonce, strconv.FormatInt(p.Timestamp, 10)}, "&")))
	p.Signature.Algorithm, p.Signature.Value = "HMAC-SHA256", base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return p
}

// recordRef is a RecordRef (core XSD) naming a record by external id.
type recordRef struct {
	XMLName    xml.Name `xml:"platformMsgs:baseRef"`
	XSIType    string   `xml:"xsi:type,attr"`
	Type       string   `xml:"type,attr"`
	ExternalID string   `xml:"externalId,attr"`
}

type getListRequest struct {
	XMLName xml.Name    `xml:"platformMsgs:getList"`
	Refs    []recordRef `xml:"platformMsgs:baseRef"`
}

type envelope struct {
	XMLName      xml.Name `xml:"soapenv:Envelope"`
	SOAPEnv      string   `xml:"xmlns:soapenv,attr"`
	PlatformMsgs string   `xml:"xmlns:platformMsgs,attr"`
	PlatformCore string   `xml:"xmlns:platformCore,attr"`
	XSI          string   `xml:"xmlns:xsi,attr"`
	Header       struct {
		Passport tokenPassport
	} `xml:"soapenv:Header"`
	Body struct {
		Op any
	} `xml:"soapenv:Body"`
}

// statusDoc is a Status (core XSD).
type statusDoc struct {
	IsSuccess bool `xml:"isSuccess,attr"`
	Details   []struct {
		Code    string `xml:"code"`
		Message string `xml:"message"`
	} `xml:"statusDetail"`
}

// inventoryItemDoc is the part of the InventoryItem type (accounting lists XSD) read here.
type inventoryItemDoc struct {
	InternalID       string `xml:"internalId,attr"`
	ExternalID       string `xml:"externalId,attr"`
	ItemID           string `xml:"itemId"`
	DisplayName      string `xml:"displayName"`
	LastModifiedDate string `xml:"lastModifiedDate"`
	Pricing          []struct {
		PriceLevel string `xml:"priceLevel>name"`
		Prices     []struct {
			Value    string `xml:"value"`
			Quantity string `xml:"quantity"`
		} `xml:"priceList>price"`
	} `xml:"pricingMatrix>pricing"`
	CustomFields []struct {
		ScriptID string `xml:"scriptId,attr"`
		Value    struct {
			Text       string `xml:",chardata"`
			InternalID string `xml:"internalId,attr"`
			Name       string `xml:"name"`
		} `xml:"value"`
	} `xml:"customFieldList>customField"`
}

type getListResponse struct {
	Body struct {
		Response struct {
			List struct {
				Status    statusDoc `xml:"status"`
				Responses []struct {
					Status statusDoc         `xml:"status"`
					Record *inventoryItemDoc `xml:"record"`
				} `xml:"readResponse"`
			} `xml:"readResponseList"`
		} `xml:"getListResponse"`
		Fault *soapFault `xml:"Fault"`
	} `xml:"Body"`
}

// soapFault is a SOAP 1.1 fault with NetSuite's fault in its detail.
type soapFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		Inner []struct {
			XMLName xml.Name
			Code    string `xml:"code"`
			Message string `xml:"message"`
		} `xml:",any"`
	} `xml:"detail"`
}

// getItemsSOAP reads items by SKU with getList, in chunks fanned out within the account budget.
func (c *Client) getItemsSOAP(ctx context.Context, skus []string) ([]*erpv1.Item, error) {
	items := make([]*erpv1.Item, len(skus))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.fanOut)
	for start := 0; start < len(skus); start += getListChunk {
		chunk := skus[start:min(start+getListChunk, len(skus))]
		g.Go(func() error {
			got, err := c.getList(gctx, chunk)
			copy(items[start:], got)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return items, nil
}

// getList reads the inventory items with the external ids skus; nil for a SKU NetSuite does not know.
func (c *Client) getList(ctx context.Context, skus []string) ([]*erpv1.Item, error) {
	op := getListRequest{}
	for _, sku := range skus {
		op.Refs = append(op.Refs, recordRef{XSIType: "platformCore:RecordRef", Type: "inventoryItem", ExternalID: sku})
	}
	ans, err := c.call(ctx, request{method: http.MethodPost, url: c.base.JoinPath(soapEndpoint), soapAction: "getList", soapBody: op,
		record: typeInventoryItem})
	if err != nil {
		return nil, err
	}
	var resp getListResponse
	if err := xml.Unmarshal(ans.body, &resp); err != nil {
		return nil, toErr(badPayload(err))
	}
	list := resp.Body.Response.List
	if !list.Status.IsSuccess || len(list.Responses) != len(skus) {
		return nil, toErr(badPayload(fmt.Errorf("getList answered %d records for %d references", len(list.Responses), len(skus))))
	}
	out := make([]*erpv1.Item, len(skus))
	for i, rr := range list.Responses {
		switch {
		case rr.Status.IsSuccess && rr.Record != nil:
			it, err := c.soapItem(rr.Record)
			if err != nil {
				return nil, toErr(badPayload(err))
			}
			out[i] = it
		case len(rr.Status.Details) > 0 && rr.Status.Details[0].Code == "RCRD_DSNT_EXIST":
		default:
			return nil, toErr(badPayload(fmt.Errorf("getList record %d: %+v", i, rr.Status)))
		}
	}
	return out, nil
}

// soapItem maps an InventoryItem the way toItem maps the REST record.
func (c *Client) soapItem(d *inventoryItemDoc) (*erpv1.Item, error) {
	rec := inventoryItem{ID: d.InternalID, ItemID: d.ItemID, ExternalID: d.ExternalID, DisplayName: d.DisplayName}
	if d.LastModifiedDate != "" {
		t, err := time.Parse(time.RFC3339Nano, d.LastModifiedDate)
		if err != nil {
			return nil, fmt.Errorf("item %s lastModifiedDate: %w", d.InternalID, err)
		}
		rec.LastModifiedDate = t.UTC().Format(time.RFC3339)
	}
	for _, p := range d.Pricing {
		for _, pr := range p.Prices {
			if p.PriceLevel == "Base Price" && (pr.Quantity == "" || pr.Quantity == "0" || pr.Quantity == "0.0") {
				rec.BasePrice = jsonNumber(pr.Value)
			}
		}
	}
	for _, f := range d.CustomFields {
		switch f.ScriptID {
		case "custitem_rb_returnable":
			rec.Returnable = f.Value.Text == "true"
		case "custitem_rb_final_sale":
			rec.FinalSale = f.Value.Text == "true"
		case "custitem_rb_return_window_days":
			rec.WindowDays = jsonNumber(f.Value.Text)
		case "custitem_rb_return_category":
			rec.ReturnCategory = &listValue{ID: f.Value.InternalID, RefName: f.Value.Name}
		}
	}
	return toItem(rec, c.currency)
}

// exchangeSOAP is one SOAP round trip: the envelope with a fresh passport, then the answer, a
// fault turned into the vendorError REST's equivalent answer would be (concurrency faults as
// 429, login faults as 401), so one classification and one retry policy serve both.
func (c *Client) exchangeSOAP(ctx context.Context, r request) (*answer, time.Duration, error) {
	env := envelope{SOAPEnv: nsSOAPEnv, PlatformMsgs: nsMessages, PlatformCore: nsCore, XSI: nsXSI}
	env.Header.Passport = c.sign.passport()
	env.Body.Op = r.soapBody
	body, err := xml.Marshal(env)
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url.String(), bytes.NewReader(append([]byte(xml.Header), body...)))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+r.soapAction+`"`)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := vendorhttp.ReadBody(resp.Body, maxBody)
	if err != nil && !errors.Is(err, vendorhttp.ErrTooLarge) {
		return nil, 0, err
	}
	if resp.StatusCode == http.StatusOK {
		return &answer{status: resp.StatusCode, header: resp.Header, body: data}, 0, nil
	}
	var f getListResponse
	if resp.StatusCode != http.StatusInternalServerError || xml.Unmarshal(data, &f) != nil || f.Body.Fault == nil {
		ve := newVendorError(resp, data) // a maintenance page, a proxy: not SOAP
		ve.netsuite = false
		if ve.status == http.StatusServiceUnavailable && ve.retryAfter > 0 {
			return nil, ve.retryAfter, ve
		}
		return nil, 0, ve
	}
	return nil, 0, faultError(f.Body.Fault, r.record)
}

// faultError classifies a NetSuite SOAP fault by its detail element's name.
func faultError(f *soapFault, record string) *vendorError {
	ve := &vendorError{status: http.StatusBadRequest, code: f.Code, detail: f.String, netsuite: true, record: record}
	if len(f.Detail.Inner) == 0 {
		return ve
	}
	inner := f.Detail.Inner[0]
	ve.code, ve.detail = inner.Code, inner.Message
	switch inner.XMLName.Local {
	case "exceededConcurrentRequestLimitFault", "exceededRequestLimitFault":
		ve.status = http.StatusTooManyRequests
	case "invalidCredentialsFault", "invalidSessionFault", "invalidAccountFault", "insufficientPermissionFault":
		ve.status = http.StatusUnauthorized
	case "unexpectedErrorFault":
		ve.status = http.StatusInternalServerError
	}
	return ve
}

func jsonNumber(v string) json.Number { return json.Number(strings.TrimSpace(v)) }
