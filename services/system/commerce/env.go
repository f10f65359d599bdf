package commerce

// ShopifyFromEnv reads the Shopify connection through lookup (the deployment's environment):
// SHOPIFY_ADMIN_URL, SHOPIFY_API_VERSION (DefaultShopifyAPIVersion when unset), and the secrets
// SHOPIFY_ACCESS_TOKEN and SHOPIFY_WEBHOOK_SECRET (the app's client secret, which signs
// webhooks). Validate checks the result.
func ShopifyFromEnv(lookup func(string) string) ShopifyConfig {
	c := ShopifyConfig{BaseURL: lookup("SHOPIFY_ADMIN_URL"), APIVersion: lookup("SHOPIFY_API_VERSION"),
		AccessToken: lookup("SHOPIFY_ACCESS_TOKEN"), WebhookSecret: lookup("SHOPIFY_WEBHOOK_SECRET")}
	if c.APIVersion == "" {
		c.APIVersion = DefaultShopifyAPIVersion
	}
	return c
}
