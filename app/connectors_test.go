package app

import (
	"strings"
	"testing"
)

func TestWebstoreConnectorConfig(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	load := func(t *testing.T, yaml string, env map[string]string) error {
		t.Helper()
		unsetEnv(t)
		for k, v := range env {
			t.Setenv(k, v)
		}
		cfg, err := LoadConfig(writeConfig(t, yaml))
		if err == nil {
			_, err = connectorOptions(cfg.Connectors)
		}
		return err
	}
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       string // "" for no error
	}{
		{"enabled without a secret", "connectors:\n  webstore:\n    enabled: true\n", nil, "connectors.webstore: signingSecret is required"},
		{"disabled without a secret", "connectors:\n  webstore:\n    enabled: false\n", nil, ""},
		{"secret from the file", "connectors:\n  webstore:\n    enabled: true\n    signingSecret: " + secret + "\n", nil, ""},
		{"secret from the environment", "connectors:\n  webstore:\n    enabled: true\n", map[string]string{"KIRJURI_CONNECTORS_WEBSTORE_SIGNING_SECRET": secret}, ""},
		{"enabled from the environment", "{}\n", map[string]string{"KIRJURI_CONNECTORS_WEBSTORE_ENABLED": "true", "KIRJURI_CONNECTORS_WEBSTORE_SIGNING_SECRET": secret}, ""},
		{"enabled from the environment, no secret", "{}\n", map[string]string{"KIRJURI_CONNECTORS_WEBSTORE_ENABLED": "true"}, "signingSecret is required"},
		{"enabled: maybe from the environment", "{}\n", map[string]string{"KIRJURI_CONNECTORS_WEBSTORE_ENABLED": "maybe"}, "connectors.webstore.enabled: must be true or false"},
		{"a secret that is not one", "connectors:\n  webstore:\n    enabled: true\n    signingSecret: whsec_this-is-not-base64!!\n", nil, "signingSecret: must be whsec_ followed by standard base64"},
		{"unknown key", "connectors:\n  webstore:\n    enabled: true\n    signingSecret: " + secret + "\n    webhookSecret: x\n", nil, "connectors.webstore: unknown key webhookSecret; known keys: enabled, previousSigningSecret, signingSecret, tolerance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := load(t, tc.yaml, tc.env)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), "MfKQ") || strings.Contains(err.Error(), "this-is-not")) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}
