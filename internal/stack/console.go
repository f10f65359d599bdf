package stack

import (
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/gateway/console"
	"github.com/retailbridge/retailbridge/pkg/audit"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// startConsole builds the operations console the gateway serves at /console. Its assignments
// live in the "console" database; dead-letter triage is offered when the returns service runs
// in this process (the dead letters and their replay audit live in its database).
func (s *Stack) startConsole(rdb *redis.Client, returnsConn, ordersConn *grpc.ClientConn, auditLog *audit.Log) (*console.Console, error) {
	db, err := s.database(s.ctx, "console")
	if err != nil {
		return nil, err
	}
	c := s.opts.Config.Console
	cons, err := console.New(s.ctx, console.Config{
		DevLogin:    s.opts.ConsoleDevLogin,
		SessionTTL:  c.SessionTTL,
		SampleEvery: s.opts.ConsoleSampleEvery,
		OIDC: console.OIDCConfig{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret,
			RedirectURL: c.OIDCRedirectURL, ScopesClaim: c.OIDCScopesClaim},
	}, console.Deps{
		Logger: s.logger.With("service", "console"), Redis: rdb, Returns: returnsv1.NewReturnsServiceClient(returnsConn),
		Orders: ordersv1.NewOrderWorkflowServiceClient(ordersConn),
		Audit:  auditLog, DB: db, DeadLetters: s.deadLetters, Metrics: s.Metrics, Now: s.opts.Now,
	})
	if err != nil {
		return nil, err
	}
	s.wg.Go(func() { cons.Run(s.ctx) })
	return cons, nil
}
