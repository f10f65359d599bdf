package money

import "testing"

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, cur string
		want          int64
		wantErr       bool
	}{
		{"cents", "12.50", "USD", 1250, false},
		{"no fraction", "12", "USD", 1200, false},
		{"one digit", "0.5", "EUR", 50, false},
		{"negative", "-0.99", "USD", -99, false},
		{"trailing zeros beyond exponent", "3.100", "USD", 310, false},
		{"yen", "1500", "JPY", 1500, false},
		{"dinar", "1.234", "KWD", 1234, false},
		{"too precise", "1.234", "USD", 0, true},
		{"garbage", "1,00", "USD", 0, true},
		{"empty", "", "USD", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDecimal(tt.in, tt.cur)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseDecimal(%q, %s) = %d, %v; want %d, err=%v", tt.in, tt.cur, got, err, tt.want, tt.wantErr)
			}
			if err == nil {
				back, _ := ParseDecimal(FormatDecimal(got, tt.cur), tt.cur)
				if back != got {
					t.Errorf("round trip of %d via %q gave %d", got, FormatDecimal(got, tt.cur), back)
				}
			}
		})
	}
}

func TestFormatDecimal(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]string{5: "0.05", 1250: "12.50", -99: "-0.99", 0: "0.00"} {
		if got := FormatDecimal(in, "USD"); got != want {
			t.Errorf("FormatDecimal(%d) = %q, want %q", in, got, want)
		}
	}
}
