package payments_test

import (
	"slices"
	"testing"

	"github.com/retailbridge/retailbridge/services/system/payments"
)

func TestStripeFromEnvWebhookSecrets(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, value string
		want        []string
	}{
		{"unset", "", nil},
		{"one", "whsec_abc", []string{"whsec_abc"}},
		{"two while rolling", " whsec_new , whsec_old ,", []string{"whsec_new", "whsec_old"}},
	} {
		env := map[string]string{"STRIPE_WEBHOOK_SECRET": tt.value, "STRIPE_API_URL": "https://stripe.example"}
		c := payments.StripeFromEnv(func(k string) string { return env[k] })
		if !slices.Equal(c.WebhookSecrets, tt.want) || c.BaseURL != "https://stripe.example" {
			t.Errorf("%s: %+v; want webhook secrets %q", tt.name, c, tt.want)
		}
	}
}
