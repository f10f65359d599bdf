package vendors_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/retailbridge/retailbridge/pkg/errs"
	intakev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/intake/v1"
	"github.com/retailbridge/retailbridge/pkg/vendors"
)

// healthVendor is a vendor's service: a health server that answers SERVING for its own name only,
// so the answer tells which vendor served the call.
func healthVendor(name string) vendors.Service {
	h := health.NewServer()
	h.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	return vendors.Service{Register: func(r grpc.ServiceRegistrar) { healthpb.RegisterHealthServer(r, h) }}
}

func TestRoutedSendsEachCallToItsRoutesVendor(t *testing.T) {
	t.Parallel()
	table := vendors.Table{Default: "warehouse"}
	for _, r := range [][3]string{{"tenant", "acme", "edi3pl"}, {"channel", "globex-b2b", "edi3pl"}, {"tenant", "globex", "warehouse"}} {
		if err := table.Route(r[0], r[1], r[2]); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := vendors.Routed(table, map[string]vendors.Service{"warehouse": healthVendor("warehouse"), "edi3pl": healthVendor("edi3pl")})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		seen = append(seen, info.FullMethod)
		return h(ctx, req)
	}))
	svc.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := healthpb.NewHealthClient(conn)
	for _, tc := range []struct {
		name  string
		route vendors.Route
		want  string
	}{
		{"no route: the default", vendors.Route{}, "warehouse"},
		{"tenant", vendors.Route{Tenant: "acme"}, "edi3pl"},
		{"channel", vendors.Route{Channel: "globex-b2b"}, "edi3pl"},
		{"the tenant wins over the channel", vendors.Route{Tenant: "globex", Channel: "globex-b2b"}, "warehouse"},
		{"an unrouted tenant: the default", vendors.Route{Tenant: "initech", Channel: "web"}, "warehouse"},
	} {
		ctx := vendors.WithRoute(vendors.WithRoute(t.Context(), vendors.Route{Tenant: "acme"}), tc.route)
		if tc.route == (vendors.Route{}) {
			ctx = t.Context()
		}
		for _, vendor := range []string{"warehouse", "edi3pl"} {
			resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: vendor})
			serving := err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
			if serving != (vendor == tc.want) {
				t.Errorf("%s: asked about %s: serving=%v (%v); want the call served by %s", tc.name, vendor, serving, err, tc.want)
			}
		}
	}
	if len(seen) != 10 {
		t.Errorf("the server's interceptor saw %d calls, want 10", len(seen))
	}
}

func TestRoutedNeedsEveryRoutedVendor(t *testing.T) {
	t.Parallel()
	table := vendors.Table{Default: "warehouse", ByTenant: map[string]string{"acme": "edi3pl"}}
	if _, err := vendors.Routed(table, map[string]vendors.Service{"warehouse": healthVendor("warehouse")}); err == nil {
		t.Fatal("Routed accepted a table naming a vendor it was not given")
	}
}

// intakeOf answers every delivery with its vendor's name as the delivery id.
type intakeOf struct {
	intakev1.UnimplementedIntakeServiceServer
	vendor string
}

func (v intakeOf) Deliver(_ context.Context, req *intakev1.DeliverRequest) (*intakev1.DeliverResponse, error) {
	return &intakev1.DeliverResponse{DeliveryId: v.vendor + ":" + req.GetVendor()}, nil
}

// Each delivery reaches the intake of the vendor it names; a vendor not in use is NotFound.
func TestRoutedIntakeKeepsEachVendorsDeliveries(t *testing.T) {
	t.Parallel()
	table := vendors.Table{Default: "warehouse", ByTenant: map[string]string{"acme": "edi3pl"}}
	w, e := healthVendor("warehouse"), healthVendor("edi3pl")
	w.Intake, e.Intake = intakeOf{vendor: "warehouse"}, intakeOf{vendor: "edi3pl"}
	svc, err := vendors.Routed(table, map[string]vendors.Service{"warehouse": w, "edi3pl": e})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"warehouse", "edi3pl"} {
		resp, err := svc.Intake.Deliver(t.Context(), &intakev1.DeliverRequest{Vendor: v})
		if err != nil || resp.GetDeliveryId() != v+":"+v {
			t.Errorf("delivery from %s: %v, %v; want its own intake", v, resp, err)
		}
	}
	if _, err := svc.Intake.Deliver(t.Context(), &intakev1.DeliverRequest{Vendor: "loop"}); errs.KindOf(err) != errs.NotFound {
		t.Errorf("delivery from a vendor not in use: %v, want NotFound", err)
	}
}
