package stripe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIVersion is the Stripe API version whose object shapes the sandbox serves, the version of
// the OpenAPI specification stripe-mock v0.203.0 bundles.
const APIVersion = "2026-08-26.dahlia"

// maxBody bounds a request body; Stripe's own limit is far larger, Retailbridge's requests far smaller.
const maxBody = 1 << 16

// Stripe error types.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAPI            = "api_error"
	typeIdempotency    = "idempotency_error"
)

// result is an API answer before it is written and, for a POST with an idempotency key, stored.
type result struct {
	status int
	body   []byte
	// executed says the endpoint began executing, which is when Stripe stores the answer under
	// the idempotency key; requests refused by parameter validation store nothing.
	executed bool
}

func (r result) stored() result {
	r.executed = true
	return r
}

func jsonResult(status int, v any) result {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic("stripe sandbox: encoding an API object: " + err.Error())
	}
	return result{status: status, body: append(body, '\n')}
}

// errorObject is Stripe's error document.
type errorObject struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code,omitempty"`
	DocURL  string `json:"doc_url,omitempty"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	Type    string `json:"type"`
}

func apiError(status int, typ, code, message, param string) result {
	d := errorDetail{Code: code, Message: message, Param: param, Type: typ}
	if code != "" {
		d.DocURL = "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")
	}
	return jsonResult(status, errorObject{Error: d})
}

func writeResult(w http.ResponseWriter, requestID string, res result) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Request-Id", requestID)
	h.Set("Cache-Control", "no-cache, no-store")
	w.WriteHeader(res.status)
	_, _ = w.Write(res.body)
}

func (s *Sandbox) requestID() string {
	return fmt.Sprintf("req_sbx%012d", s.requestIDs.Add(1))
}

// routes serves the endpoints the sandbox emulates; anything else gets Stripe's 404.
func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/refunds", s.idempotent(s.createRefund))
	mux.Handle("GET /v1/refunds/{id}", s.read(func(r *http.Request, _ []string) result {
		return s.getRefund(r.PathValue("id"))
	}))
	mux.Handle("GET /v1/payment_intents/{id}", s.read(func(r *http.Request, expand []string) result {
		return s.getPaymentIntent(r.PathValue("id"), expand)
	}))
	mux.Handle("GET /v1/charges/{id}", s.read(func(r *http.Request, expand []string) result {
		return s.getCharge(r.PathValue("id"), expand)
	}))
	mux.HandleFunc("POST /v1/payment_intents/{id}/capture", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		s.idempotent(func(_ origin, form url.Values) result { return s.capture(id, form) }).ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /v1/payouts", s.listPayouts)
	mux.HandleFunc("GET /v1/balance_transactions", s.listBalanceTransactions)
	mux.Handle("GET /v1/balance", s.read(func(*http.Request, []string) result { return s.balance() }))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeResult(w, s.requestID(), apiError(http.StatusNotFound, typeInvalidRequest, "",
			fmt.Sprintf("Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at "+
				"https://support.stripe.com/.", r.Method, r.URL.Path), ""))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get("Stripe-Version")
		if v == "" {
			v = APIVersion
		}
		w.Header().Set("Stripe-Version", v)
		mux.ServeHTTP(w, r)
	})
}

// read serves a GET. Its only query parameter is expand, as expand[] or expand[n].
func (s *Sandbox) read(h func(r *http.Request, expand []string) result) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := s.requestID()
		var expand []string
		for k, vs := range r.URL.Query() {
			if !isIndexed(k, "expand") {
				writeResult(w, reqID, apiError(http.StatusBadRequest, typeInvalidRequest, "parameter_unknown",
					"Received unknown parameter: "+k, k))
				return
			}
			expand = append(expand, vs...)
		}
		writeResult(w, reqID, h(r, expand))
	})
}

// isIndexed reports whether k is name[] or name[something].
func isIndexed(k, name string) bool {
	return strings.HasPrefix(k, name+"[") && strings.HasSuffix(k, "]")
}

// origin is the API request behind a change, as Stripe's events name it in their request field.
// It is zero for changes Stripe makes by itself (a refund settling), whose events say null.
type origin struct {
	requestID, idempotencyKey string
}

// idempotent serves a POST with Stripe's idempotency semantics. With an Idempotency-Key the
// first executed answer — success, refusal or 500 — is stored for IdempotencyTTL and replayed
// to every later request with that key and the same parameters, marked Idempotent-Replayed.
// The same key with other parameters is refused with 400, and while the first request is still
// executing, further ones get 409; neither stores anything. Executed answers, fresh or
// replayed, are what SetLoseResponses drops.
func (s *Sandbox) idempotent(h func(o origin, form url.Values) result) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := s.requestID()
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			writeResult(w, reqID, apiError(http.StatusBadRequest, typeInvalidRequest, "",
				"Invalid request body: "+err.Error(), ""))
			return
		}
		key := r.Header.Get("Idempotency-Key")
		o := origin{requestID: reqID, idempotencyKey: key}
		if key == "" {
			s.respond(w, reqID, s.persisted(s.execute(h, o, r.Form)))
			return
		}
		w.Header().Set("Idempotency-Key", key)
		if len(key) > MaxIdempotencyKeyLen {
			writeResult(w, reqID, apiError(http.StatusBadRequest, typeInvalidRequest, "",
				fmt.Sprintf("Idempotency keys can be at most %d characters long; yours is %d.", MaxIdempotencyKeyLen, len(key)), ""))
			return
		}
		fingerprint := r.Method + " " + r.URL.Path + "\n" + r.Form.Encode()
		first, state := s.idem.begin(key, fingerprint, reqID)
		switch state {
		case keyMismatch:
			s.mismatches.Add(1)
			writeResult(w, reqID, apiError(http.StatusBadRequest, typeIdempotency, "",
				"Keys for idempotent requests can only be used with the same parameters they were first used with. "+
					"Try using a key other than '"+key+"' if you meant to execute a different request.", ""))
		case keyInFlight:
			s.inFlight.Add(1)
			w.Header().Set("Stripe-Should-Retry", "true")
			writeResult(w, reqID, apiError(http.StatusConflict, typeIdempotency, "",
				"There is currently another in-progress request using this Idempotent Key (that probably means "+
					"you submitted twice, and the other request is still going through): "+key+". Please try again later.", ""))
		case keyReplay:
			s.replayed.Add(1)
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Original-Request", first.requestID)
			s.respond(w, reqID, first.res)
		default:
			res := s.execute(h, o, r.Form)
			s.idem.finish(key, res)
			s.respond(w, reqID, s.persisted(res))
		}
	})
}

// execute runs h, taking the processing delay first. The delay ignores the client's
// cancellation: a payment gateway finishes what it started whether or not anyone listens.
func (s *Sandbox) execute(h func(origin, url.Values) result, o origin, form url.Values) result {
	if _, _, d, _ := s.knobs(); d > 0 {
		time.Sleep(d)
	}
	return h(o, form)
}

// persisted keeps the world after an executed request and before its answer leaves, so an
// answer the client saw is never forgotten by a restart. When the state cannot be written the
// client gets a 500 instead: it retries with its key.
func (s *Sandbox) persisted(res result) result {
	if err := s.persist(); err != nil {
		return apiError(http.StatusInternalServerError, typeAPI, "", "An unknown error occurred while processing your request.", "")
	}
	return res
}

// respond writes res, or drops the connection without a word when res was executed (so it is
// committed and stored) and the lose-responses knob says so.
func (s *Sandbox) respond(w http.ResponseWriter, reqID string, res result) {
	if lose, _, _, _ := s.knobs(); res.executed && s.roll(lose) {
		s.lost.Add(1)
		drop(w)
		return
	}
	writeResult(w, reqID, res)
}

// drop closes the connection without an answer: hijacked and closed over HTTP/1.1, the stream
// reset over HTTP/2, where ErrAbortHandler is the only way to abandon a response.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
