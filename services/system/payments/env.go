package payments

import "strings"

// StripeFromEnv reads the Stripe account through lookup (the deployment's environment):
// STRIPE_API_URL and the secrets STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, the webhook
// endpoint's signing secret or a comma-separated list while one is rolled. Validate checks the
// result.
func StripeFromEnv(lookup func(string) string) StripeConfig {
	c := StripeConfig{BaseURL: lookup("STRIPE_API_URL"), SecretKey: lookup("STRIPE_SECRET_KEY")}
	for _, s := range strings.Split(lookup("STRIPE_WEBHOOK_SECRET"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.WebhookSecrets = append(c.WebhookSecrets, s)
		}
	}
	return c
}
