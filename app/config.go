package app

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"

	"kirjuri/core/access"
)

// Config is kirjuri's configuration: a YAML file overridden by environment
// variables. Keys are camelCase.
type Config struct {
	// Mode is "development", "production" or unset. Only an explicitly
	// chosen development mode generates an encryption key under DataDir
	// when none is given; otherwise a missing key stops the start.
	Mode    string `koanf:"mode"`
	DataDir string `koanf:"dataDir"`
	HTTP    struct {
		Addr         string `koanf:"addr"`
		MaxBodyBytes int64  `koanf:"maxBodyBytes"`
	} `koanf:"http"`
	Database struct {
		URL      string `koanf:"url"`
		MaxConns int32  `koanf:"maxConns"`
	} `koanf:"database"`
	ClickHouse struct {
		URL   string `koanf:"url"`
		Relay struct {
			BatchSize    int           `koanf:"batchSize"`
			Interval     time.Duration `koanf:"interval"`
			MaxBackoff   time.Duration `koanf:"maxBackoff"`
			UnreadyAfter time.Duration `koanf:"unreadyAfter"`
		} `koanf:"relay"`
	} `koanf:"clickhouse"`
	BootstrapAPIKey string `koanf:"bootstrapApiKey"`
	// EncryptionKey encrypts personal identity codes at rest: 32 random
	// bytes, standard base64.
	EncryptionKey string `koanf:"encryptionKey"`
	// EncryptionOldKeys are earlier encryption keys, kept while `kirjuri
	// rekey` re-encrypts what they sealed: they decrypt, EncryptionKey
	// encrypts.
	EncryptionOldKeys []string `koanf:"encryptionOldKeys"`
	Log               struct {
		Level  string `koanf:"level"`  // debug, info, warn, error
		Format string `koanf:"format"` // json or console
	} `koanf:"log"`
	// Jobs is how this instance works background jobs (River, in
	// PostgreSQL).
	Jobs struct {
		// Workers is how many jobs of the default queue run at once
		// here; 0 works none of them.
		Workers int `koanf:"workers"`
		// Queues are further queues worked here, with their workers.
		Queues map[string]int `koanf:"queues"`
		// StopTimeout is how long running jobs get to finish at shutdown
		// before they are cancelled (and run again at the next start).
		StopTimeout time.Duration `koanf:"stopTimeout"`
		// JobTimeout bounds one attempt of a job whose worker sets none.
		JobTimeout time.Duration `koanf:"jobTimeout"`
		// RescueAfter is how long a job may run before it is taken for
		// stuck (its instance died) and run again (River's
		// RescueStuckJobsAfter); 0 is River's default, jobTimeout + 1h.
		RescueAfter time.Duration `koanf:"rescueAfter"`
	} `koanf:"jobs"`
	// Imports configures spreadsheet imports (POST /v1/imports).
	Imports struct {
		// MaxUploadBytes bounds an uploaded file.
		MaxUploadBytes int64 `koanf:"maxUploadBytes"`
		// BatchRows is how many rows are written in one transaction.
		BatchRows int `koanf:"batchRows"`
		// BatchWriters is how many batches of an import are written at
		// once, each in its own transaction (committed in the file's
		// order); 1 writes one after the other.
		BatchWriters int `koanf:"batchWriters"`
		// Workers is how many imports run at once on this instance (the
		// queue imports); 0 runs none here.
		Workers int `koanf:"workers"`
		// Timeout bounds one attempt of an import.
		Timeout time.Duration `koanf:"timeout"`
		// MaxRows, MaxColumns and MaxCellBytes bound a file's sheet;
		// MaxPartBytes the unpacked size of each part of the file.
		MaxRows      int   `koanf:"maxRows"`
		MaxColumns   int   `koanf:"maxColumns"`
		MaxCellBytes int   `koanf:"maxCellBytes"`
		MaxPartBytes int64 `koanf:"maxPartBytes"`
	} `koanf:"imports"`
	// Runtime tunes Go's garbage collector for `serve` (runtime.go); the
	// environment variables GOGC and GOMEMLIMIT, when set, win.
	Runtime struct {
		// GCPercent is GOGC: how far the heap grows over what the last
		// collection kept before the next one starts.
		GCPercent int `koanf:"gcPercent"`
		// MemoryLimitBytes is GOMEMLIMIT, a soft limit on the memory the
		// Go runtime holds: near it, the collector runs sooner than
		// GCPercent says. 0 sets none.
		MemoryLimitBytes int64 `koanf:"memoryLimitBytes"`
	} `koanf:"runtime"`
	// Connectors holds one section per external system; see connectors.md.
	Connectors map[string]map[string]any `koanf:"connectors"`
	// Pushes configures the pushes of changes to external systems
	// (pushes.go).
	Pushes PushConfig `koanf:"pushes"`
}

// envVars maps the environment variables of api.md onto config keys.
var envVars = []struct {
	env, key string
	list     bool // comma-separated
}{
	{"KIRJURI_MODE", "mode", false},
	{"KIRJURI_DATA_DIR", "dataDir", false},
	{"KIRJURI_HTTP_ADDR", "http.addr", false},
	{"KIRJURI_DATABASE_URL", "database.url", false},
	{"KIRJURI_CLICKHOUSE_URL", "clickhouse.url", false},
	{"KIRJURI_BOOTSTRAP_API_KEY", "bootstrapApiKey", false},
	{"KIRJURI_ENCRYPTION_KEY", "encryptionKey", false},
	{"KIRJURI_ENCRYPTION_OLD_KEYS", "encryptionOldKeys", true},
	{"KIRJURI_JOBS_WORKERS", "jobs.workers", false},
	{"KIRJURI_LOG_LEVEL", "log.level", false},
	{"KIRJURI_LOG_FORMAT", "log.format", false},
}

func defaults() map[string]any {
	d := map[string]any{
		"dataDir":                       ".data/dev",
		"http.addr":                     "127.0.0.1:8080",
		"http.maxBodyBytes":             int64(1 << 20),
		"database.url":                  "postgres://kirjuri@127.0.0.1:15432/kirjuri?sslmode=disable",
		"database.maxConns":             int32(16),
		"clickhouse.url":                "clickhouse://127.0.0.1:19000/kirjuri",
		"clickhouse.relay.batchSize":    5000,
		"clickhouse.relay.interval":     "200ms",
		"clickhouse.relay.maxBackoff":   "30s",
		"clickhouse.relay.unreadyAfter": "0s",
		"jobs.workers":                  4,
		"jobs.stopTimeout":              "10s",
		"jobs.jobTimeout":               "30m",
		"jobs.rescueAfter":              "0s",
		"imports.maxUploadBytes":        int64(512 << 20),
		"imports.batchRows":             2000,
		"imports.batchWriters":          2,
		"imports.workers":               1,
		"imports.timeout":               "30m",
		"imports.maxRows":               1 << 20,
		"imports.maxColumns":            1000,
		"imports.maxCellBytes":          32767 * 3,
		"imports.maxPartBytes":          int64(2 << 30),
		"runtime.gcPercent":             400,
		"runtime.memoryLimitBytes":      int64(224 << 20),
		"log.level":                     "info",
		"log.format":                    "json",
	}
	maps.Copy(d, pushDefaults())
	return d
}

// LoadConfig reads the YAML file at path (when path is "", kirjuri.yaml if it
// exists) and then the environment. Unknown keys in the file are an error.
func LoadConfig(path string) (Config, error) {
	k := koanf.New(".")
	for key, v := range defaults() {
		if err := k.Set(key, v); err != nil {
			return Config{}, err
		}
	}
	if path == "" {
		if _, err := os.Stat("kirjuri.yaml"); err == nil {
			path = "kirjuri.yaml"
		}
	}
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	for _, e := range envVars {
		// A variable that is set counts even when empty: that is how
		// KIRJURI_CLICKHOUSE_URL= turns the audit log off.
		if v, ok := os.LookupEnv(e.env); ok {
			var val any = v
			if e.list {
				val = splitList(v)
			}
			if err := k.Set(e.key, val); err != nil {
				return Config{}, err
			}
		}
	}
	for key, v := range connectorEnv(os.LookupEnv) {
		if err := k.Set(key, v); err != nil {
			return Config{}, err
		}
	}
	var c Config
	err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			ErrorUnused:      true,
			WeaklyTypedInput: true,
			Result:           &c,
			TagName:          "koanf",
			DecodeHook:       mapstructure.StringToTimeDurationHookFunc(),
		},
	})
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, c.validate()
}

func (c Config) validate() error {
	var errs []error
	if c.Mode != "" && c.Mode != "development" && c.Mode != "production" {
		errs = append(errs, fmt.Errorf("mode (KIRJURI_MODE): must be development or production, not %q", c.Mode))
	}
	if c.Database.URL == "" {
		errs = append(errs, errors.New("database.url (KIRJURI_DATABASE_URL) is required"))
	}
	if c.Mode == "production" && c.EncryptionKey == "" {
		errs = append(errs, errors.New("encryptionKey (KIRJURI_ENCRYPTION_KEY) is required in production: 32 random bytes, standard base64"))
	}
	if c.EncryptionKey != "" {
		if _, err := decodeKey(c.EncryptionKey); err != nil {
			errs = append(errs, err)
		}
	}
	for i, o := range c.EncryptionOldKeys {
		if _, err := decodeKey(o); err != nil {
			errs = append(errs, fmt.Errorf("encryptionOldKeys (KIRJURI_ENCRYPTION_OLD_KEYS), key %d: must be 32 bytes in standard base64", i+1))
		}
	}
	if len(c.EncryptionOldKeys) > 0 && c.EncryptionKey == "" {
		errs = append(errs, errors.New("encryptionOldKeys (KIRJURI_ENCRYPTION_OLD_KEYS) needs encryptionKey (KIRJURI_ENCRYPTION_KEY), the key that replaces them"))
	}
	errs = append(errs, c.validateJobs()...)
	errs = append(errs, c.validateImports()...)
	errs = append(errs, c.validatePushes()...)
	if r := c.Runtime; r.GCPercent < 25 || r.GCPercent > 10000 {
		errs = append(errs, fmt.Errorf("runtime.gcPercent: must be 25 to 10000, not %d", r.GCPercent))
	}
	if r := c.Runtime; r.MemoryLimitBytes != 0 && r.MemoryLimitBytes < 64<<20 {
		errs = append(errs, fmt.Errorf("runtime.memoryLimitBytes: must be 0 (none) or at least 67108864 (64 MiB), not %d", r.MemoryLimitBytes))
	}
	if _, err := checkConnectors(c.Connectors); err != nil {
		errs = append(errs, err)
	}
	if c.BootstrapAPIKey != "" && len(c.BootstrapAPIKey) < 20 {
		errs = append(errs, errors.New("bootstrapApiKey (KIRJURI_BOOTSTRAP_API_KEY) must be at least 20 characters"))
	}
	return errors.Join(errs...)
}

// queueName is what River accepts as a queue name, without dots (the
// configuration's key separator).
var queueName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// maxJobStopTimeout leaves the rest of the 30 s that `serve` gives its
// whole stop to the HTTP server and the audit relay.
const maxJobStopTimeout = 20 * time.Second

func (c Config) validateJobs() []error {
	var errs []error
	j := c.Jobs
	if j.Workers < 0 || j.Workers > 1000 {
		errs = append(errs, fmt.Errorf("jobs.workers (KIRJURI_JOBS_WORKERS): must be 0 to 1000, not %d", j.Workers))
	}
	for _, name := range slices.Sorted(maps.Keys(j.Queues)) {
		switch n := j.Queues[name]; {
		case name == "default":
			errs = append(errs, errors.New("jobs.queues.default: the default queue's workers are jobs.workers"))
		case !queueName.MatchString(name):
			errs = append(errs, fmt.Errorf("jobs.queues: queue name %q: use lower-case letters, digits, '_' and '-' (at most 63)", name))
		case n < 1 || n > 1000:
			errs = append(errs, fmt.Errorf("jobs.queues.%s: must be 1 to 1000 workers, not %d", name, n))
		}
	}
	if j.StopTimeout <= 0 || j.StopTimeout > maxJobStopTimeout {
		errs = append(errs, fmt.Errorf("jobs.stopTimeout: must be more than 0s and at most %s, not %s", maxJobStopTimeout, j.StopTimeout))
	}
	if j.JobTimeout < time.Second {
		errs = append(errs, fmt.Errorf("jobs.jobTimeout: must be at least 1s, not %s", j.JobTimeout))
	}
	// River refuses a rescue sooner than the job timeout: a job would be
	// run twice while it still runs.
	if j.RescueAfter != 0 && (j.RescueAfter < time.Second || j.RescueAfter < j.JobTimeout) {
		errs = append(errs, fmt.Errorf("jobs.rescueAfter: must be 0s (River's default, jobs.jobTimeout + 1h) or at least 1s and at least jobs.jobTimeout (%s), not %s", j.JobTimeout, j.RescueAfter))
	}
	return errs
}

func decodeKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		return nil, errors.New("encryptionKey (KIRJURI_ENCRYPTION_KEY) must be 32 bytes in standard base64")
	}
	return b, nil
}

// errNoEncryptionKey says what to set when there is no key.
var errNoEncryptionKey = errors.New("no encryption key for identity codes: set encryptionKey " +
	"(KIRJURI_ENCRYPTION_KEY) to 32 random bytes in standard base64 (head -c32 /dev/urandom | base64) " +
	"and keep it safe, since identity codes cannot be read without it; or, on a developer's machine only, " +
	"choose mode: development (KIRJURI_MODE=development) to have one generated under dataDir")

// SSNKey returns the key for personal identity codes. Without a configured
// key it refuses, unless development mode was chosen explicitly: then it
// reads, or makes once, DataDir/encryption-key.
func (c Config) SSNKey() ([]byte, error) {
	if c.EncryptionKey != "" {
		return decodeKey(c.EncryptionKey)
	}
	if c.Mode != "development" {
		return nil, errNoEncryptionKey
	}
	path := filepath.Join(c.DataDir, "encryption-key")
	if b, err := os.ReadFile(path); err == nil {
		return decodeKey(string(b))
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("development encryption key: %w", err)
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("development encryption key: %w", err)
	}
	return key, nil
}

// SSNOldKeys returns the old keys of encryptionOldKeys, decoded.
func (c Config) SSNOldKeys() ([][]byte, error) {
	out := make([][]byte, 0, len(c.EncryptionOldKeys))
	for _, o := range c.EncryptionOldKeys {
		b, err := decodeKey(o)
		if err != nil {
			return nil, errors.New("encryptionOldKeys (KIRJURI_ENCRYPTION_OLD_KEYS) must be 32 bytes each in standard base64")
		}
		out = append(out, b)
	}
	return out, nil
}

// splitList reads a comma-separated variable; empty items are dropped.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// NewSecret makes a new API key secret.
func NewSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return access.SecretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func (c Config) validateImports() []error {
	var errs []error
	i := c.Imports
	if i.MaxUploadBytes < 1 {
		errs = append(errs, fmt.Errorf("imports.maxUploadBytes: must be at least 1, not %d", i.MaxUploadBytes))
	}
	if i.BatchRows < 1 || i.BatchRows > 100000 {
		errs = append(errs, fmt.Errorf("imports.batchRows: must be 1 to 100000, not %d", i.BatchRows))
	}
	if i.BatchWriters < 1 || i.BatchWriters > 8 {
		errs = append(errs, fmt.Errorf("imports.batchWriters: must be 1 to 8, not %d", i.BatchWriters))
	}
	if i.Workers < 0 || i.Workers > 100 {
		errs = append(errs, fmt.Errorf("imports.workers: must be 0 to 100, not %d", i.Workers))
	}
	if i.Timeout < time.Second {
		errs = append(errs, fmt.Errorf("imports.timeout: must be at least 1s, not %s", i.Timeout))
	}
	if i.MaxRows < 2 || i.MaxRows > 1<<20 {
		errs = append(errs, fmt.Errorf("imports.maxRows: must be 2 to 1048576, not %d", i.MaxRows))
	}
	if i.MaxColumns < 1 || i.MaxColumns > 1<<14 {
		errs = append(errs, fmt.Errorf("imports.maxColumns: must be 1 to 16384, not %d", i.MaxColumns))
	}
	if i.MaxCellBytes < 1 || i.MaxPartBytes < 1 {
		errs = append(errs, errors.New("imports.maxCellBytes and imports.maxPartBytes: must be at least 1"))
	}
	return errs
}
