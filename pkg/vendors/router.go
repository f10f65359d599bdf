package vendors

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/retailbridge/retailbridge/pkg/errs"
	intakev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/intake/v1"
)

// Routed serves one system kind over several vendors at once: every vendor's service (built by
// its own Serve) is registered into a capture, and the kind's gRPC services are registered once,
// each method handing the call to the vendor that table selects for the call's route
// (IncomingRoute) — before the server's interceptors run, so they see the chosen vendor's call
// as any other. Webhook and file deliveries keep their vendor: the intake hands each to the
// intake of the vendor it names. services must hold every vendor the table names.
func Routed(table Table, services map[string]Service) (Service, error) {
	names := table.Vendors()
	caps := map[string]capture{}
	intakes := map[string]intakev1.IntakeServiceServer{}
	out := Service{}
	for _, v := range names {
		svc, ok := services[v]
		if !ok || svc.Register == nil {
			return Service{}, fmt.Errorf("vendor %s is routed to but not served", v)
		}
		caps[v] = capture{}
		svc.Register(caps[v])
		out.Events = out.Events || svc.Events
		if svc.Intake != nil {
			intakes[v] = svc.Intake
		}
	}
	if len(intakes) > 0 {
		out.Intake = intakeMux{by: intakes}
	}
	out.Register = func(r grpc.ServiceRegistrar) {
		var done []string
		for _, v := range names {
			for name := range caps[v] {
				if slices.Contains(done, name) {
					continue
				}
				done = append(done, name)
				desc, impl := routedDesc(name, table, caps)
				r.RegisterService(desc, impl)
			}
		}
	}
	return out, nil
}

// capture records what a vendor's Register registers, by service name.
type capture map[string]captured

type captured struct {
	desc *grpc.ServiceDesc
	impl any
}

// RegisterService implements grpc.ServiceRegistrar.
func (c capture) RegisterService(sd *grpc.ServiceDesc, impl any) {
	c[sd.ServiceName] = captured{sd, impl}
}

// routedDesc is service name's description with every method and stream dispatching by route;
// the implementation registered with it is the first vendor's (the server checks its type).
func routedDesc(name string, table Table, caps map[string]capture) (*grpc.ServiceDesc, any) {
	var tmpl captured
	for _, v := range table.Vendors() {
		if c, ok := caps[v][name]; ok {
			tmpl = c
			break
		}
	}
	sd := *tmpl.desc
	sd.Methods = make([]grpc.MethodDesc, len(tmpl.desc.Methods))
	for i, m := range tmpl.desc.Methods {
		sd.Methods[i] = grpc.MethodDesc{MethodName: m.MethodName, Handler: routedMethod(name, m.MethodName, table, caps)}
	}
	sd.Streams = make([]grpc.StreamDesc, len(tmpl.desc.Streams))
	for i, s := range tmpl.desc.Streams {
		s.Handler = routedStream(name, s.StreamName, table, caps)
		sd.Streams[i] = s
	}
	return &sd, tmpl.impl
}

func routedMethod(service, method string, table Table, caps map[string]capture) grpc.MethodHandler {
	return func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		v := table.Vendor(IncomingRoute(ctx))
		c, ok := caps[v][service]
		if ok {
			for _, m := range c.desc.Methods {
				if m.MethodName == method {
					return m.Handler(c.impl, ctx, dec, ic)
				}
			}
		}
		return nil, status.Errorf(codes.Unimplemented, "%s/%s is not served by vendor %s", service, method, v)
	}
}

func routedStream(service, stream string, table Table, caps map[string]capture) grpc.StreamHandler {
	return func(_ any, ss grpc.ServerStream) error {
		v := table.Vendor(IncomingRoute(ss.Context()))
		c, ok := caps[v][service]
		if ok {
			for _, s := range c.desc.Streams {
				if s.StreamName == stream {
					return s.Handler(c.impl, ss)
				}
			}
		}
		return status.Errorf(codes.Unimplemented, "%s/%s is not served by vendor %s", service, stream, v)
	}
}

// intakeMux hands each delivery to the intake of the vendor it names, so every vendor's
// webhooks and files are verified and published under that vendor's identity.
type intakeMux struct {
	intakev1.UnimplementedIntakeServiceServer
	by map[string]intakev1.IntakeServiceServer
}

// Deliver implements intakev1.IntakeServiceServer.
func (m intakeMux) Deliver(ctx context.Context, req *intakev1.DeliverRequest) (*intakev1.DeliverResponse, error) {
	in, ok := m.by[req.GetVendor()]
	if !ok {
		return nil, errs.E(errs.NotFound, "unknown_webhook_vendor", "this service takes no deliveries from "+req.GetVendor())
	}
	return in.Deliver(ctx, req)
}
