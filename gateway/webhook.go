package gateway

import (
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/errs"
	intakev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/intake/v1"
)

// maxWebhookBody bounds a vendor delivery.
const maxWebhookBody = 1 << 20

// WebhookTarget is the system API behind /webhooks/{vendor}: a connection to the service of the
// vendor's system kind, which serves retailbridge.system.intake.v1.IntakeService. The stack
// builds these from the vendor registries, so the gateway names no vendor and no kind's
// contract.
type WebhookTarget struct {
	// Kind is the vendor's system kind ("commerce", "wms", …), for logs.
	Kind string
	Conn *grpc.ClientConn
}

// webhook is the front door for vendor deliveries: POST /webhooks/{vendor}. The system API
// verifies the signature on the raw body in constant time and publishes canonical events with
// ids derived from the vendor's delivery id, so a delivery repeated 2–5 times, late or
// concurrently, has one effect (broker deduplication, then the consumers' inboxes). A bad
// signature answers 401 and changes nothing.
func (g *Gateway) webhook(c *gin.Context) {
	vendor := c.Param("vendor")
	target, ok := g.deps.Webhooks[vendor]
	if !ok || target.Conn == nil {
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
	query := map[string]string{}
	for k, v := range c.Request.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	resp, err := intakev1.NewIntakeServiceClient(target.Conn).Deliver(c.Request.Context(),
		&intakev1.DeliverRequest{Vendor: vendor, Headers: headers, Body: body, Query: query})
	if err != nil {
		g.countSignatureFailure(vendor, err)
		g.problem(c, errs.ProblemFor(err))
		return
	}
	if resp.GetReply() != nil { // the vendor's protocol wants exactly this answer (a handshake)
		c.Data(http.StatusOK, resp.GetReplyContentType(), resp.GetReply())
		return
	}
	c.JSON(http.StatusOK, gin.H{"delivery_id": resp.GetDeliveryId(), "event_ids": resp.GetEventIds(), "ignored": resp.GetIgnored()})
}
