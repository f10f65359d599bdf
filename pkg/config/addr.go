package config

import (
	"fmt"
	"net"
	"strings"
)

// ServiceAddr is a parsed RB_*_ADDR: where a service's replicas are dialled and the address
// this process listens on when it serves that service.
type ServiceAddr struct {
	// Addrs are the static replica addresses (host:port), in order; empty for a DNS target.
	Addrs []string
	// DNS is a "dns:///name:port" target gRPC resolves (and re-resolves) itself; empty otherwise.
	DNS string
	// Listen is the listen address: the first static address, or ":port" of a DNS target.
	Listen string
}

// ParseServiceAddr reads "host:port", "host:port,host:port,…" or "dns:///name:port" (also
// "dns://authority/name:port").
func ParseServiceAddr(s string) (ServiceAddr, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "dns://"); ok {
		_, hostport, found := strings.Cut(rest, "/")
		if !found {
			return ServiceAddr{}, fmt.Errorf("%q: a DNS target is dns:///name:port", s)
		}
		_, port, err := net.SplitHostPort(hostport)
		if err != nil || port == "" {
			return ServiceAddr{}, fmt.Errorf("%q: a DNS target is dns:///name:port", s)
		}
		return ServiceAddr{DNS: s, Listen: ":" + port}, nil
	}
	var out ServiceAddr
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if _, _, err := net.SplitHostPort(a); err != nil {
			return ServiceAddr{}, fmt.Errorf("%q is not host:port (or a comma-separated list of them, or dns:///name:port)", a)
		}
		out.Addrs = append(out.Addrs, a)
	}
	out.Listen = out.Addrs[0]
	return out, nil
}
