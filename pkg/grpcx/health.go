package grpcx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Probe checks one dependency of a service; nil means usable.
type Probe struct {
	Name  string
	Check func(ctx context.Context) error
}

// ConnProbe checks a gRPC dependency through its health service: reachable and SERVING.
func ConnProbe(name string, conn *grpc.ClientConn) Probe {
	return Probe{Name: name, Check: func(ctx context.Context) error {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("%s", s)
		}
		return nil
	}}
}

// WatchHealth makes the server's health follow its dependencies: it runs every probe now and
// then every interval until ctx ends, and reports SERVING (for the server and each service
// registered on it) only while all pass, NOT_SERVING otherwise. Changes are logged with the
// failing dependencies. Call it after registering the services.
func (s *Server) WatchHealth(ctx context.Context, interval time.Duration, probes ...Probe) {
	if len(probes) == 0 {
		return
	}
	if interval <= 0 {
		interval = 2 * time.Second
	}
	var last error
	first := true
	check := func() {
		err := s.runProbes(ctx, min(interval, 2*time.Second), probes)
		if ctx.Err() != nil {
			return
		}
		status := healthpb.HealthCheckResponse_SERVING
		if err != nil {
			status = healthpb.HealthCheckResponse_NOT_SERVING
		}
		s.Health.SetServingStatus("", status)
		for name := range s.GetServiceInfo() {
			s.Health.SetServingStatus(name, status)
		}
		switch {
		case err != nil && (first || last == nil || err.Error() != last.Error()):
			s.logger.Warn("not serving: a dependency is unavailable", "error", err.Error())
		case err == nil && !first && last != nil:
			s.logger.Info("serving again: every dependency is available")
		}
		first, last = false, err
	}
	check()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				check()
			}
		}
	}()
}

// runProbes runs the probes concurrently, each bounded by timeout, and joins their failures.
func (s *Server) runProbes(ctx context.Context, timeout time.Duration, probes []Probe) error {
	errc := make(chan error, len(probes))
	for _, p := range probes {
		go func() {
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if err := p.Check(pctx); err != nil {
				errc <- fmt.Errorf("%s: %w", p.Name, err)
				return
			}
			errc <- nil
		}()
	}
	var errs []error
	for range probes {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
