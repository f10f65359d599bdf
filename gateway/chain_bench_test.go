package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/retailbridge/retailbridge/gateway/apidocs"
	"github.com/retailbridge/retailbridge/pkg/auth"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
	"github.com/retailbridge/retailbridge/pkg/idempotency"
)

// benchChain is the gateway's body path as routes() mounts it — the body limit and card-data
// check, the document check, the idempotency guard (in process, as with the embedded Redis) —
// in front of a handler that decodes the body the way grpc-gateway does, with no network. It
// measures what the gateway itself costs per request in allocations (PF-1's GC share).
func benchChain(b *testing.B) http.Handler {
	b.Helper()
	c, err := newContract(context.Background(), apidocs.OpenAPI)
	if err != nil {
		b.Fatal(err)
	}
	g := &Gateway{cfg: Config{BodyLimit: 1 << 20}, contract: c,
		idem: idempotency.New(nil, idempotency.Options{InProcess: true, MaxRecords: 1 << 30})}
	marshaler := &runtime.JSONPb{UnmarshalOptions: protojson.UnmarshalOptions{}}
	decode := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg proto.Message = &returnsv1.CreateReturnRequest{}
		if strings.HasSuffix(r.URL.Path, "/eligibility") {
			msg = &returnsv1.CheckEligibilityRequest{}
		}
		if err := marshaler.NewDecoder(r.Body).Decode(msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"eligible":true}`))
	})
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	principal := func(c *gin.Context) {
		c.Request = c.Request.WithContext(auth.WithPrincipal(c.Request.Context(),
			auth.Principal{Audience: auth.Storefront, Subject: "c1"}))
	}
	e.Any("/v1/storefront/*path", g.bodyLimit(), principal, gin.WrapH(g.validate(g.idempotent(decode))))
	return e
}

func benchRequest(b *testing.B, h http.Handler, target, body, key string) {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// BenchmarkGatewayBodyChain: a warm eligibility check (no key) and a keyed request that
// executes (a new key each time).
func BenchmarkGatewayBodyChain(b *testing.B) {
	const body = `{"order_id":"5100001","lines":[{"order_line_id":"510000101","quantity":1}]}`
	b.Run("eligibility", func(b *testing.B) {
		h := benchChain(b)
		b.ReportAllocs()
		for b.Loop() {
			benchRequest(b, h, "/v1/storefront/returns/eligibility", body, "")
		}
	})
	b.Run("keyed", func(b *testing.B) {
		h := benchChain(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			benchRequest(b, h, "/v1/storefront/returns", `{"order_id":"5100001","method":"RETURN_METHOD_MAIL","lines":[{"order_line_id":"510000101","quantity":1,"reason":"RETURN_REASON_DEFECTIVE"}]}`, fmt.Sprint("k-", i))
		}
	})
}
