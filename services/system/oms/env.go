package oms

// FluentFromEnv reads a Fluent account through lookup (the deployment's environment):
// FLUENT_API_URL, FLUENT_RETAILER_ID and the secrets FLUENT_CLIENT_ID, FLUENT_CLIENT_SECRET,
// FLUENT_USERNAME and FLUENT_PASSWORD. Validate checks the result.
func FluentFromEnv(lookup func(string) string) FluentConfig {
	return FluentConfig{BaseURL: lookup("FLUENT_API_URL"), ClientID: lookup("FLUENT_CLIENT_ID"), ClientSecret: lookup("FLUENT_CLIENT_SECRET"),
		Username: lookup("FLUENT_USERNAME"), Password: lookup("FLUENT_PASSWORD"), RetailerID: lookup("FLUENT_RETAILER_ID")}
}
