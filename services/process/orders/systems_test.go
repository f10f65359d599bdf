package orders

import (
	"context"
	"net"
	"slices"
	"strconv"
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
)

// commerceServer is an in-memory commerce system API. Orders are listed in the order given
// (newest first); page tokens are offsets.
type commerceServer struct {
	commercev1.UnimplementedCommerceServiceServer

	mu     sync.Mutex
	orders []*canonicalv1.Order
	fail   error
	gets   int
	lists  []*commercev1.ListOrdersRequest
	// leaky makes listings ignore their filters, as a misbehaving platform might.
	leaky bool
}

func (s *commerceServer) GetOrder(_ context.Context, req *commercev1.GetOrderRequest) (*commercev1.GetOrderResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.fail != nil {
		return nil, s.fail
	}
	for _, o := range s.orders {
		if o.GetId() == req.GetOrderId() {
			return &commercev1.GetOrderResponse{Order: proto.CloneOf(o)}, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "order %s not found", req.GetOrderId())
}

func (s *commerceServer) ListOrders(_ context.Context, req *commercev1.ListOrdersRequest) (*commercev1.ListOrdersResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists = append(s.lists, proto.CloneOf(req))
	if s.fail != nil {
		return nil, s.fail
	}
	offset := 0
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, "bad page token")
		}
		offset = n
	}
	var mine []*canonicalv1.Order
	for _, o := range s.orders {
		customer := req.GetCustomerId() == "" || o.GetCustomer().GetId() == req.GetCustomerId()
		source := len(req.GetSources()) == 0 || slices.Contains(req.GetSources(), o.GetSource())
		if (customer && source) || s.leaky {
			mine = append(mine, o)
		}
	}
	resp := &commercev1.ListOrdersResponse{}
	for i := offset; i < len(mine) && len(resp.Orders) < int(req.GetPageSize()); i++ {
		resp.Orders = append(resp.Orders, proto.CloneOf(mine[i]))
	}
	if end := offset + len(resp.Orders); end < len(mine) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

func (s *commerceServer) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func (s *commerceServer) calls() (gets int, lists []*commercev1.ListOrdersRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, append([]*commercev1.ListOrdersRequest(nil), s.lists...)
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
