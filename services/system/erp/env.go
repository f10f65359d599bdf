package erp

import (
	"fmt"
	"strconv"
)

// DefaultNetSuiteMaxConcurrency is our share of the account's concurrency limit when
// NETSUITE_MAX_CONCURRENCY is unset.
const DefaultNetSuiteMaxConcurrency = 10

// NetSuiteFromEnv reads the NetSuite account through lookup (the deployment's environment):
// NETSUITE_URL, NETSUITE_ACCOUNT, NETSUITE_CONSUMER_KEY, NETSUITE_TOKEN_ID,
// NETSUITE_MAX_CONCURRENCY, NETSUITE_ITEM_LOOKUP and the secrets NETSUITE_CONSUMER_SECRET and NETSUITE_TOKEN_SECRET.
// A value that does not parse is an error naming its variable; Validate checks the rest.
func NetSuiteFromEnv(lookup func(string) string) (NetSuiteConfig, error) {
	c := NetSuiteConfig{BaseURL: lookup("NETSUITE_URL"), Account: lookup("NETSUITE_ACCOUNT"),
		ConsumerKey: lookup("NETSUITE_CONSUMER_KEY"), ConsumerSecret: lookup("NETSUITE_CONSUMER_SECRET"),
		TokenID: lookup("NETSUITE_TOKEN_ID"), TokenSecret: lookup("NETSUITE_TOKEN_SECRET"),
		MaxConcurrency: DefaultNetSuiteMaxConcurrency, ItemLookup: lookup("NETSUITE_ITEM_LOOKUP")}
	if v := lookup("NETSUITE_MAX_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("NETSUITE_MAX_CONCURRENCY: %q is not a positive integer", v)
		}
		c.MaxConcurrency = n
	}
	return c, nil
}
