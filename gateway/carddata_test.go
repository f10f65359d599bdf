package gateway

import "testing"

func TestContainsCardData(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		body string
		want bool
	}{
		{"ordinary return", `{"order_id":"5100001","lines":[{"order_line_id":"510000101","quantity":1}]}`, false},
		{"visa test number in a note", `{"note":"refund to 4242 4242 4242 4242 please"}`, true},
		{"order numbers in a note", `{"note":"orders 5100001 and 5100002, line 510000101"}`, false},
		{"visa test number as a value", `{"note":"4242 4242 4242 4242"}`, true},
		{"dashed mastercard", `{"x":"5555-5555-5555-4444"}`, true},
		{"number token", `{"x":4111111111111111}`, true},
		{"cvv field", `{"cvv":"123"}`, true},
		{"CVC field any case", `{"payment":{"CVC":"123"}}`, true},
		{"luhn-failing digits", `{"x":"4242424242424241"}`, false},
		{"short digits", `{"x":"424242424242"}`, false},
		{"not json", `order=1`, false},
		{"escaped field name", `{"c\u0076v":"123"}`, true},
		{"number hidden by escapes", `{"x":"\u0034242424242424242"}`, true},
		{"escaped quote before a number", `{"note":"say \"hi\" 4242424242424242"}`, true},
		{"negative exponent number", `{"x":-1.5e3,"y":"ok"}`, false},
		{"card number in a body that is not JSON", `note=4242424242424242`, true},
		{"unterminated string", `{"note":"4242`, false},
	} {
		if got := containsCardData([]byte(tt.body)); got != tt.want {
			t.Errorf("%s: containsCardData = %v, want %v", tt.name, got, tt.want)
		}
	}
}
