package stack

import (
	"testing"

	"github.com/retailbridge/retailbridge/pkg/config"
)

// A vendor's registered request budget is its governor's default; RB_GOVERNOR_<NAME> overrides it.
func TestVendorGovernorDefault(t *testing.T) {
	env := map[string]string{}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, err := readVendorSettings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if g := s.guards["businesscentral"]; g.Rate != 20 || g.Burst != 100 {
		t.Errorf("businesscentral guard %+v; want the registered rate=20,burst=100 (6,000 per 5 minutes)", g)
	}
	if g := s.guards["netsuite"]; g.Rate != 0 {
		t.Errorf("netsuite guard %+v; want no rate budget (none registered)", g)
	}
	env["RB_GOVERNOR_BUSINESSCENTRAL"] = "rate=5"
	if cfg, err = config.Load(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if s, err = readVendorSettings(cfg); err != nil || s.guards["businesscentral"].Rate != 5 {
		t.Errorf("RB_GOVERNOR_BUSINESSCENTRAL=rate=5: %+v, %v", s.guards["businesscentral"], err)
	}
}
