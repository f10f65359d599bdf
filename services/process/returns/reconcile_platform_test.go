package returns

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
)

// platformServer is an in-memory returns platform system API: its returns' references by
// platform id.
type platformServer struct {
	returnsplatformv1.UnimplementedReturnsPlatformServiceServer

	references map[string]string
	fail       error
}

func (s *platformServer) GetReturn(_ context.Context, req *returnsplatformv1.GetReturnRequest) (*returnsplatformv1.GetReturnResponse, error) {
	if s.fail != nil {
		return nil, s.fail
	}
	ref, ok := s.references[req.GetPlatformReturnId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "return %s not found", req.GetPlatformReturnId())
	}
	return &returnsplatformv1.GetReturnResponse{State: "open", Reference: ref}, nil
}

// The platform's return is the return's only when the platform holds it under the return's own
// reference: a platform that lost its records gives the same id to another return, and a
// platform id alone proves nothing.
func TestCheckPlatformReturnMatchesByReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		platform    *platformServer
		wantMissing string // a part of the reason; empty: not missing
		wantKnown   bool
	}{
		{"own return", &platformServer{references: map[string]string{"7": "ret_a"}}, "", true},
		{"another return's under the same id", &platformServer{references: map[string]string{"7": "ret_b"}}, `holds it for reference "ret_b"`, true},
		{"no reference", &platformServer{references: map[string]string{"7": ""}}, "holds it for reference no reference", true},
		{"gone", &platformServer{references: map[string]string{}}, "answers not found", true},
		{"platform down", &platformServer{fail: status.Error(codes.Unavailable, "down")}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn := serve(t, func(g *grpc.Server) { returnsplatformv1.RegisterReturnsPlatformServiceServer(g, tc.platform) })
			s := &Service{log: slog.New(slog.DiscardHandler), platformClient: returnsplatformv1.NewReturnsPlatformServiceClient(conn)}
			d := &returnData{ReturnID: "ret_a", PlatformReturnID: "7"}
			missing, known := s.checkPlatformReturn(context.Background(), d)
			if known != tc.wantKnown {
				t.Errorf("known %v; want %v", known, tc.wantKnown)
			}
			switch {
			case tc.wantMissing == "" && missing != nil:
				t.Errorf("reported missing: %+v", *missing)
			case tc.wantMissing != "" && missing == nil:
				t.Errorf("not reported missing; want %q", tc.wantMissing)
			case missing != nil && (!strings.Contains(missing.Reason, tc.wantMissing) || missing.Record != "return 7" || missing.System != "returns platform"):
				t.Errorf("missing %+v; want the platform's return 7, reason containing %q", *missing, tc.wantMissing)
			}
		})
	}
}

// rmaServer is an in-memory ERP system API: its RMAs' references by ERP id.
type rmaServer struct {
	erpv1.UnimplementedErpServiceServer

	references map[string]string
}

func (s *rmaServer) GetReturnAuthorization(_ context.Context, req *erpv1.GetReturnAuthorizationRequest) (*erpv1.GetReturnAuthorizationResponse, error) {
	ref, ok := s.references[req.GetReturnAuthorizationId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "RMA %s not found", req.GetReturnAuthorizationId())
	}
	return &erpv1.GetReturnAuthorizationResponse{ReturnAuthorizationId: req.GetReturnAuthorizationId(), Status: "Pending Receipt", Reference: ref}, nil
}

// The ERP's RMA is the return's only when it was opened under the return's own reference.
func TestCheckRMAMatchesByReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		references  map[string]string
		wantMissing string
	}{
		{"own RMA", map[string]string{"41": "ret_a"}, ""},
		{"another return's under the same id", map[string]string{"41": "ret_b"}, `holds it for reference "ret_b"`},
		{"gone", map[string]string{}, "answers not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn := serve(t, func(g *grpc.Server) { erpv1.RegisterErpServiceServer(g, &rmaServer{references: tc.references}) })
			s := &Service{log: slog.New(slog.DiscardHandler), erpClient: erpv1.NewErpServiceClient(conn)}
			missing, known := s.checkRMA(context.Background(), &returnData{ReturnID: "ret_a", RMAID: "41", RMANumber: "RMA1001"})
			if !known {
				t.Error("known false; want the ERP's answer taken")
			}
			switch {
			case tc.wantMissing == "" && missing != nil:
				t.Errorf("reported missing: %+v", *missing)
			case tc.wantMissing != "" && missing == nil:
				t.Errorf("not reported missing; want %q", tc.wantMissing)
			case missing != nil && (!strings.Contains(missing.Reason, tc.wantMissing) || missing.Record != "RMA RMA1001" || missing.System != "ERP"):
				t.Errorf("missing %+v; want the ERP's RMA RMA1001, reason containing %q", *missing, tc.wantMissing)
			}
		})
	}
}
