package returns

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// commerceServer is an in-memory commerce system API.
type commerceServer struct {
	commercev1.UnimplementedCommerceServiceServer

	mu     sync.Mutex
	orders map[string]*canonicalv1.Order
	fail   error // answered to every call when set
	gets   int
}

func (s *commerceServer) GetOrder(_ context.Context, req *commercev1.GetOrderRequest) (*commercev1.GetOrderResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.fail != nil {
		return nil, s.fail
	}
	o, ok := s.orders[req.GetOrderId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "order %s not found", req.GetOrderId())
	}
	return &commercev1.GetOrderResponse{Order: proto.CloneOf(o)}, nil
}

func (s *commerceServer) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func (s *commerceServer) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

// erpServer is an in-memory ERP system API.
type erpServer struct {
	erpv1.UnimplementedErpServiceServer

	mu    sync.Mutex
	items map[string]*erpv1.Item
	fail  error
	asked [][]string // SKUs of each GetItems call, sorted
}

func (s *erpServer) GetItems(_ context.Context, req *erpv1.GetItemsRequest) (*erpv1.GetItemsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, slices.Sorted(slices.Values(req.GetSkus())))
	if s.fail != nil {
		return nil, s.fail
	}
	resp := &erpv1.GetItemsResponse{}
	for _, sku := range req.GetSkus() {
		if it, ok := s.items[sku]; ok {
			resp.Items = append(resp.Items, proto.CloneOf(it))
		} else {
			resp.MissingSkus = append(resp.MissingSkus, sku)
		}
	}
	return resp, nil
}

func (s *erpServer) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func (s *erpServer) calls() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.asked)
}

// serve runs register's services on an in-memory listener and returns a client connection to it.
func serve(t testing.TB, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial bufconn: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
