package returnsplatform

// LoopFromEnv reads the returns platform through lookup (the deployment's environment):
// LOOP_API_URL and the secrets LOOP_API_KEY and LOOP_WEBHOOK_SECRET. Validate checks the result.
func LoopFromEnv(lookup func(string) string) LoopConfig {
	return LoopConfig{BaseURL: lookup("LOOP_API_URL"), APIKey: lookup("LOOP_API_KEY"), WebhookSecret: lookup("LOOP_WEBHOOK_SECRET")}
}
