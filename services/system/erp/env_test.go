package erp_test

import (
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/services/system/erp"
)

func TestNetSuiteFromEnv(t *testing.T) {
	t.Parallel()
	lookup := func(env map[string]string) func(string) string { return func(k string) string { return env[k] } }
	c, err := erp.NetSuiteFromEnv(lookup(map[string]string{"NETSUITE_ACCOUNT": "123_SB1"}))
	if err != nil || c.Account != "123_SB1" || c.MaxConcurrency != erp.DefaultNetSuiteMaxConcurrency {
		t.Fatalf("defaults: %v, %v", c, err)
	}
	if c, err = erp.NetSuiteFromEnv(lookup(map[string]string{"NETSUITE_MAX_CONCURRENCY": "4"})); err != nil || c.MaxConcurrency != 4 {
		t.Fatalf("NETSUITE_MAX_CONCURRENCY=4: %v, %v", c.MaxConcurrency, err)
	}
	for _, bad := range []string{"0", "-2", "many"} {
		if _, err := erp.NetSuiteFromEnv(lookup(map[string]string{"NETSUITE_MAX_CONCURRENCY": bad})); err == nil || !strings.Contains(err.Error(), "NETSUITE_MAX_CONCURRENCY") {
			t.Errorf("NETSUITE_MAX_CONCURRENCY=%q: %v, want an error naming it", bad, err)
		}
	}
}
