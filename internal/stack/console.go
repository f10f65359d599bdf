package stack

import (
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/gateway/console"
	"github.com/retailbridge/retailbridge/pkg/audit"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// consoleConns are the process APIs the console reads.
type consoleConns struct{ returns, orders, inventory *grpc.ClientConn }

// startConsole builds the operations console the gateway serves at /console. Its assignments
// live in the "console" database; dead-letter triage is offered when the returns service runs
// in this process (the dead letters and their replay audit live in its database).
func (s *Stack) startConsole(rdb *redis.Client, conns consoleConns, auditLog *audit.Log) (*console.Console, error) {
	db, err := s.database(s.ctx, "console")
	if err != nil {
		return nil, err
	}
	c := s.opts.Config.Console
	cons, err := console.New(s.ctx, console.Config{
		DevLogin:   s.opts.ConsoleDevLogin,
		SessionTTL: c.SessionTTL,
		OIDC: console.OIDCConfig{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret,
			RedirectURL: c.OIDCRedirectURL, ScopesClaim: c.OIDCScopesClaim},
	}, console.Deps{
		Logger: s.logger.With("service", "console"), Redis: rdb, Returns: returnsv1.NewReturnsServiceClient(conns.returns),
		Orders:       ordersv1.NewOrderWorkflowServiceClient(conns.orders),
		OrderInsight: ordersv1.NewOrderInsightServiceClient(conns.orders), ReturnInsight: returnsv1.NewReturnInsightServiceClient(conns.returns),
		InventoryInsight: inventoryv1.NewInventoryInsightServiceClient(conns.inventory),
		Audit:            auditLog, DB: db, DeadLetters: s.deadLetters, Metrics: s.Metrics, Now: s.opts.Now,
	})
	if err != nil {
		return nil, err
	}
	return cons, nil
}
