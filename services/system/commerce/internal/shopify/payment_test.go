package shopify

import "testing"

func TestPaymentReference(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	tests := []struct {
		name string
		txs  []orderTransaction
		want string
	}{
		{"no transactions", nil, ""},
		{"successful sale", []orderTransaction{{Kind: "SALE", Status: "SUCCESS", Gateway: s("stripe"), PaymentID: s("pi_1")}}, "pi_1"},
		{"failed sale, then a successful one", []orderTransaction{
			{Kind: "SALE", Status: "FAILURE", PaymentID: s("pi_bad")},
			{Kind: "SALE", Status: "SUCCESS", PaymentID: s("pi_good")},
		}, "pi_good"},
		{"authorised then captured: the capture wins", []orderTransaction{
			{Kind: "AUTHORIZATION", Status: "SUCCESS", PaymentID: s("pi_auth")},
			{Kind: "CAPTURE", Status: "SUCCESS", PaymentID: s("pi_cap")},
		}, "pi_cap"},
		{"refunds are not the payment", []orderTransaction{{Kind: "REFUND", Status: "SUCCESS", PaymentID: s("re_1")}}, ""},
		{"paid outside a gateway (no payment id)", []orderTransaction{{Kind: "SALE", Status: "SUCCESS", Gateway: s("manual")}}, ""},
		{"pending sale", []orderTransaction{{Kind: "SALE", Status: "PENDING", PaymentID: s("pi_p")}}, ""},
	}
	for _, tt := range tests {
		if got := paymentReference(tt.txs); got != tt.want {
			t.Errorf("%s: paymentReference = %q, want %q", tt.name, got, tt.want)
		}
	}
}
