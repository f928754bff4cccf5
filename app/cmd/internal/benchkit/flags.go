package benchkit

import (
	"fmt"
	"os"
	"strings"
)

// EnvFlag is a repeatable KEY=VALUE flag (--service-env); CheckEnv checks
// its values once the flags are parsed.
type EnvFlag []string

func (m *EnvFlag) String() string     { return strings.Join(*m, " ") }
func (m *EnvFlag) Set(v string) error { *m = append(*m, v); return nil }

// CheckEnv tells whether every value of --service-env is KEY=VALUE.
func CheckEnv(kvs []string) error {
	for _, kv := range kvs {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("--service-env %q: want KEY=VALUE", kv)
		}
	}
	return nil
}

// DatabaseURL is the PostgreSQL server's URL: --database-url when given,
// else $KIRJURI_DATABASE_URL. The error names task, the `go tool task`
// that sets the variable.
func DatabaseURL(flagValue, task string) (string, error) {
	if flagValue == "" {
		flagValue = os.Getenv("KIRJURI_DATABASE_URL")
	}
	if flagValue == "" {
		return "", fmt.Errorf(`KIRJURI_DATABASE_URL is not set: run eval "$(scripts/servers.sh env --profile dev)" (or use go tool task %s), or pass --database-url`, task)
	}
	return flagValue, nil
}
