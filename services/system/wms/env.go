package wms

// WarehouseFromEnv reads the 3PL's REST API through lookup (the deployment's environment):
// WAREHOUSE_API_URL and the secrets WAREHOUSE_API_KEY and WAREHOUSE_WEBHOOK_SECRET. Validate
// checks the result.
func WarehouseFromEnv(lookup func(string) string) WarehouseConfig {
	return WarehouseConfig{BaseURL: lookup("WAREHOUSE_API_URL"), APIKey: lookup("WAREHOUSE_API_KEY"),
		WebhookSecret: lookup("WAREHOUSE_WEBHOOK_SECRET")}
}
