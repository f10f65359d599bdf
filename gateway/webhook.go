package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// maxWebhookBody bounds a vendor delivery.
const maxWebhookBody = 1 << 20

// WebhookTarget is the system API behind /webhooks/{vendor}: the vendor's system kind
// ("commerce", "payments", "returnsplatform", "wms"), which says how to forward a delivery, and a
// connection to that kind's service. The stack builds these from the vendor registries, so the
// gateway names no vendor.
type WebhookTarget struct {
	Kind string
	Conn *grpc.ClientConn
}

// ingest forwards one delivery to a system API: the raw bytes and headers, untouched, because
// signatures are verified over the exact body.
type ingest func(ctx context.Context, conn *grpc.ClientConn, headers map[string]string, body []byte) (delivery string, events []string, ignored bool, err error)

// ingesters forward a delivery per system kind.
var ingesters = map[string]ingest{
	"commerce": func(ctx context.Context, c *grpc.ClientConn, h map[string]string, b []byte) (string, []string, bool, error) {
		r, err := commercev1.NewCommerceServiceClient(c).IngestWebhook(ctx, &commercev1.IngestWebhookRequest{Headers: h, Body: b})
		return r.GetDeliveryId(), r.GetEventIds(), r.GetIgnored(), err
	},
	"payments": func(ctx context.Context, c *grpc.ClientConn, h map[string]string, b []byte) (string, []string, bool, error) {
		r, err := paymentsv1.NewPaymentsServiceClient(c).IngestWebhook(ctx, &paymentsv1.IngestWebhookRequest{Headers: h, Body: b})
		return r.GetDeliveryId(), r.GetEventIds(), r.GetIgnored(), err
	},
	"returnsplatform": func(ctx context.Context, c *grpc.ClientConn, h map[string]string, b []byte) (string, []string, bool, error) {
		r, err := returnsplatformv1.NewReturnsPlatformServiceClient(c).IngestWebhook(ctx, &returnsplatformv1.IngestWebhookRequest{Headers: h, Body: b})
		return r.GetDeliveryId(), r.GetEventIds(), r.GetIgnored(), err
	},
	"wms": func(ctx context.Context, c *grpc.ClientConn, h map[string]string, b []byte) (string, []string, bool, error) {
		r, err := wmsv1.NewWmsServiceClient(c).IngestWebhook(ctx, &wmsv1.IngestWebhookRequest{Headers: h, Body: b})
		return r.GetDeliveryId(), r.GetEventIds(), r.GetIgnored(), err
	},
}

// webhook is the front door for vendor deliveries: POST /webhooks/{vendor}. The system API
// verifies the signature on the raw body in constant time and publishes canonical events with
// ids derived from the vendor's delivery id, so a delivery repeated 2–5 times, late or
// concurrently, has one effect (broker deduplication, then the consumers' inboxes). A bad
// signature answers 401 and changes nothing.
func (g *Gateway) webhook(c *gin.Context) {
	vendor := c.Param("vendor")
	target, ok := g.deps.Webhooks[vendor]
	in := ingesters[target.Kind]
	if !ok || in == nil {
		g.problem(c, errs.NewProblem(http.StatusNotFound, "unknown_webhook_vendor", "Not found", "no webhook endpoint for "+vendor))
		return
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxWebhookBody+1))
	if err != nil {
		g.problem(c, errs.NewProblem(http.StatusBadRequest, "body_unreadable", "Invalid request", "the request body could not be read"))
		return
	}
	if len(body) > maxWebhookBody {
		g.problem(c, tooLarge(maxWebhookBody))
		return
	}
	headers := make(map[string]string, len(c.Request.Header))
	for k, v := range c.Request.Header {
		if strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Cookie") {
			continue
		}
		headers[k] = strings.Join(v, ",")
	}
	delivery, events, ignored, err := in(c.Request.Context(), target.Conn, headers, body)
	if err != nil {
		g.countSignatureFailure(vendor, err)
		g.problem(c, errs.ProblemFor(err))
		return
	}
	c.JSON(http.StatusOK, gin.H{"delivery_id": delivery, "event_ids": events, "ignored": ignored})
}
