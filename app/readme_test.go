package app

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestReadmeConnectorExample loads the README's example configuration of
// the connectors as a configuration file: every section decodes strictly
// and validates, and it enables all eight systems, so the example a
// merchant copies starts.
func TestReadmeConnectorExample(t *testing.T) {
	unsetEnv(t)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, part := range strings.Split(string(readme), "```yaml\n")[1:] {
		body, _, _ := strings.Cut(part, "```")
		if strings.HasPrefix(body, "connectors:\n") && strings.Contains(body, "maestro:") {
			block = body
			break
		}
	}
	if block == "" {
		t.Fatal("the README has no ```yaml block of the connectors with maestro in it")
	}
	c, err := LoadConfig(writeConfig(t, block))
	if err != nil {
		t.Fatalf("the README's connector example does not load: %v", err)
	}
	enabled, err := checkConnectors(c.Connectors)
	if err != nil {
		t.Fatalf("the README's connector example does not validate: %v", err)
	}
	var names []string
	for _, e := range enabled {
		names = append(names, e.name)
	}
	want := []string{"maestro", "matkahuolto", "mycashflow", "paytrail", "posti", "reservation", "webstore", "woocommerce"}
	if !slices.Equal(names, want) {
		t.Errorf("the example enables %v, want all eight: %v", names, want)
	}
	// Building each connector from its settings works too.
	for _, e := range enabled {
		if _, err := e.entry.module(e.settings); err != nil {
			t.Errorf("connectors.%s: %v", e.name, err)
		}
	}
}
