package gateway

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

func correlation(ctx context.Context) string { return telemetry.CorrelationID(ctx) }

func (g *Gateway) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz reports ready only when every process service answers SERVING (each one's health
// follows its own database, bus and system APIs) and Redis answers PING.
func (g *Gateway) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	var failed []string
	for name, conn := range map[string]*grpc.ClientConn{"orders": g.deps.Orders, "returns": g.deps.Returns, "inventory": g.deps.Inventory} {
		if err := checkGRPC(ctx, conn); err != nil {
			checks[name], failed = "unavailable", append(failed, name)
		} else {
			checks[name] = "ok"
		}
	}
	if err := g.deps.Redis.Ping(ctx).Err(); err != nil {
		checks["redis"], failed = "unavailable", append(failed, "redis")
	} else {
		checks["redis"] = "ok"
	}
	if len(failed) > 0 {
		g.problem(c, errs.NewProblem(http.StatusServiceUnavailable, "not_ready", "Service unavailable",
			"not ready: "+strings.Join(failed, ", ")).WithRetryAfter(1))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": checks})
}

func checkGRPC(ctx context.Context, conn *grpc.ClientConn) error {
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return errs.E(errs.Unavailable, "not_serving", resp.GetStatus().String())
	}
	return nil
}
