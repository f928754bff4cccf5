package delivery

import (
	"fmt"
	"strings"
	"time"

	"kirjuri/core/fault"
	"kirjuri/core/intake"
)

// ChannelConsent is one per-channel consent of our own JSON contracts (the
// generic web store's and the booking system's): each contract declares its
// own type with its own documentation, of the same fields, and converts it
// to this one.
type ChannelConsent struct {
	Channel     string
	Purpose     string
	Status      string
	CapturedAt  *time.Time
	Method      string
	TextVersion string
}

// ConsentClaims sets d's consent claims from consents: granted sets the
// consent, denied withdraws it, unknown leaves it as it is; only marketing
// consents of the email and sms channels exist, each at most once.
// Problems are added to v under prefix[i] (customer.consents[0].channel).
// evidence makes a claim's evidence from the consent (how and where it was
// captured: no personal data).
func ConsentClaims(v *fault.Validation, prefix string, consents []ChannelConsent, d *intake.Draft, evidence func(ChannelConsent) string) {
	seen := map[string]bool{}
	for i, cs := range consents {
		field := fmt.Sprintf("%s[%d]", prefix, i)
		if cs.Purpose != "marketing" {
			v.Add(field+".purpose", "must be marketing")
			continue
		}
		var target **intake.ConsentClaim
		switch cs.Channel {
		case "email":
			target = &d.MarketingEmail
		case "sms":
			target = &d.MarketingSMS
		default:
			v.Add(field+".channel", "must be email or sms")
			continue
		}
		if seen[cs.Channel] {
			v.Add(field+".channel", "%s is given twice", cs.Channel)
			continue
		}
		seen[cs.Channel] = true
		var value bool
		switch cs.Status {
		case "granted":
			value = true
		case "denied":
		case "unknown":
			continue
		default:
			v.Add(field+".status", "must be granted, denied or unknown")
			continue
		}
		claim := &intake.ConsentClaim{Value: value, Evidence: evidence(cs)}
		if cs.CapturedAt != nil {
			claim.At = cs.CapturedAt.UTC()
		}
		*target = claim
	}
}

// ConsentEvidence says how a source of our JSON contracts captured a
// consent: the source (its instance after it: "web store kauppa-fi"), the
// method, the version of the consent text, then refs ("event evt_1"),
// never personal data.
func ConsentEvidence(source, instance string, c ChannelConsent, refs ...string) string {
	parts := []string{source}
	if instance != "" {
		parts[0] += " " + instance
	}
	if c.Method != "" {
		parts = append(parts, c.Method)
	}
	if c.TextVersion != "" {
		parts = append(parts, "consent text "+c.TextVersion)
	}
	for _, r := range refs {
		if r != "" {
			parts = append(parts, r)
		}
	}
	return strings.Join(parts, ", ")
}
