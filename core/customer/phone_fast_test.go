package customer

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// samePhone fails t when NormalizePhone (with its fast path) and the
// library alone disagree about s: the E.164 form, or whether s is valid.
func samePhone(t testing.TB, s string) (fast bool) {
	t.Helper()
	got, gotErr := normalizePhone(s, true)
	want, wantErr := normalizePhone(s, false)
	if got != want || (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("NormalizePhone(%q) = %q, %v; libphonenumber: %q, %v", s, got, gotErr, want, wantErr)
	}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	_, fast = fastFinnishPhone(s)
	return fast
}

// phoneForms writes the digits of a national number (without its 0) in
// the ways people type them.
func phoneForms(nat string) []string {
	out := []string{"0" + nat, "+358" + nat, "00358" + nat, "+358 0" + nat, "358" + nat, "+ 358" + nat, "+358-" + nat}
	for _, cut := range []int{1, 2, 3, 4} {
		if cut < len(nat) {
			a, b := nat[:cut], nat[cut:]
			out = append(out, "0"+a+" "+b, "0"+a+"-"+b, "0"+a+"  "+b, "+358 "+a+" "+b, "+358 "+a+"-"+b,
				"00358 "+a+" "+b, "(0"+a+") "+b, "0"+a+"/"+b, "+358 ("+a+") "+b, "0"+a+" - "+b, "0"+a+"\u00a0"+b)
		}
		if cut+3 < len(nat) {
			out = append(out, "0"+nat[:cut]+" "+nat[cut:cut+3]+" "+nat[cut+3:], "+358 "+nat[:cut]+" "+nat[cut:cut+3]+" "+nat[cut+3:])
		}
	}
	return out
}

func TestPhoneFastPathTable(t *testing.T) {
	for _, c := range []struct {
		in, want string
		fast     bool
	}{
		{"040 1234567", "+358401234567", true},
		{"0401234567", "+358401234567", true},
		{"040-1234567", "+358401234567", true},
		{"040 123 4567", "+358401234567", true},
		{"+358 40 123 4567", "+358401234567", true},
		{"+358401234567", "+358401234567", true},
		{"00358 40 1234567", "+358401234567", true},
		{"00358401234567", "+358401234567", true},
		{"050 1234567", "+358501234567", true},
		{"+358 50 1234567", "+358501234567", true},
		{"044 123456", "+35844123456", true},
		{"045 12345678", "+3584512345678", true},
		{"09 1234567", "+35891234567", true},
		{"09 123 4567", "+35891234567", true},
		{"02 1234567", "+35821234567", true},
		{"03 1234567", "+35831234567", true},
		{"014 123456", "+35814123456", false}, // 1x: the library
		{"018 12345", "+3581812345", false},   // Åland (AX)
		{"0800 123456", "+358800123456", false},
		{"+358 (0)40 1234567", "+358401234567", false},
		{"(09) 1234567", "+35891234567", false},
		{"+46 70 123 45 67", "+46701234567", false},
		{"040 12345678901", "", false},
		{"0491234567", "", false},
		{"123", "", false},
	} {
		got, err := NormalizePhone(c.in)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if fast := samePhone(t, c.in); fast != c.fast {
			t.Errorf("fast path for %q: %v, want %v", c.in, fast, c.fast)
		}
	}
}

// TestPhoneFastPathMatchesLibrary compares both paths on every two-digit
// start of a national number, at every length from 3 to 12 digits, in
// every written form of phoneForms, and on the forms the spreadsheet
// benchmark generates ("0" + prefix + " " + 7 digits and "+358 " + prefix
// + " " + 7 digits, prefixes 40, 41, 44, 45, 46, 50).
func TestPhoneFastPathMatchesLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	fast, all := 0, 0
	for start := 0; start < 100; start++ {
		for l := 3; l <= 12; l++ {
			for range 2 {
				nat := fmt.Sprintf("%02d", start) + digits(l-2)
				for _, s := range phoneForms(nat) {
					all++
					if samePhone(t, s) {
						fast++
					}
				}
			}
		}
	}
	for _, p := range []string{"40", "41", "44", "45", "46", "50"} {
		for range 1000 {
			d := digits(7)
			for _, s := range []string{"0" + p + " " + d, "+358 " + p + " " + d} {
				all++
				if !samePhone(t, s) {
					t.Fatalf("%q: the benchmark's form did not take the fast path", s)
				}
				fast++
			}
		}
	}
	t.Logf("%d forms, %d through the fast path", all, fast)
}

// FuzzNormalizePhone compares NormalizePhone with its fast path against
// libphonenumber alone.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"040 1234567", "+358 40 123 4567", "00358401234567", "09 1234567", "050-123 45 67",
		"+358 0 40 1234567", "018 12345", "0800 123456", "+46 70 123 45 67", "040 123456789012", "02 12", "+3585"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { samePhone(t, s) })
}

func BenchmarkNormalizePhone(b *testing.B) {
	for _, fast := range []bool{true, false} {
		b.Run(fmt.Sprintf("fast=%v", fast), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := normalizePhone([]string{"040 1234567", "+358 50 7654321"}[i%2], fast); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
