package app

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"go.uber.org/fx"
)

// connector is one entry of the registry: how to decode a connector's
// configuration section and how to build it.
type connector struct {
	// newConfig returns a pointer to a fresh settings struct (koanf tags,
	// defaults filled in). Every section is decoded into it strictly,
	// whether the connector is enabled or not: an unknown key or a value of
	// the wrong type stops the start.
	newConfig func() any
	// module builds the connector's fx option from its decoded settings.
	// It is called only when the connector is enabled, after the settings'
	// Validate() (when they have one): a disabled section may be
	// incomplete, but never misspelt.
	module func(settings any) (fx.Option, error)
}

// connectorEntry makes a registry entry from a typed settings struct C and
// its builder; defaults, when given, fills in C before decoding.
func connectorEntry[C any](defaults func(*C), module func(*C) (fx.Option, error)) connector {
	return connector{
		newConfig: func() any {
			c := new(C)
			if defaults != nil {
				defaults(c)
			}
			return c
		},
		module: func(s any) (fx.Option, error) { return module(s.(*C)) },
	}
}

// connectorRegistry lists every connector kirjuri knows, by its config name.
// It is explicit on purpose (no init() self-registration): one place shows
// every external system the binary can talk to.
var connectorRegistry = map[string]connector{}

// enabledConnector is an enabled connector with its decoded settings.
type enabledConnector struct {
	name     string
	entry    connector
	settings any
}

// checkConnectors decodes and checks every connectors section, enabled or
// not, and returns the enabled ones sorted by name. LoadConfig runs it, so
// that every command refuses a bad section.
func checkConnectors(sections map[string]map[string]any) ([]enabledConnector, error) {
	var out []enabledConnector
	for _, n := range slices.Sorted(maps.Keys(sections)) {
		entry, ok := connectorRegistry[n]
		if !ok {
			return nil, fmt.Errorf("connectors.%s: unknown connector; known: %s", n, knownConnectors())
		}
		enabled, settings, err := decodeConnector(entry, sections[n])
		if err != nil {
			return nil, fmt.Errorf("connectors.%s%w", n, err)
		}
		if !enabled {
			continue
		}
		if v, ok := settings.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return nil, fmt.Errorf("connectors.%s: %w", n, err)
			}
		}
		out = append(out, enabledConnector{name: n, entry: entry, settings: settings})
	}
	return out, nil
}

// connectorOptions returns the options of the enabled connectors, sorted
// by name.
func connectorOptions(sections map[string]map[string]any) ([]fx.Option, error) {
	enabled, err := checkConnectors(sections)
	if err != nil {
		return nil, err
	}
	opts := make([]fx.Option, 0, len(enabled))
	for _, c := range enabled {
		o, err := c.entry.module(c.settings)
		if err != nil {
			return nil, fmt.Errorf("connectors.%s: %w", c.name, err)
		}
		opts = append(opts, o)
	}
	return opts, nil
}

// decodeConnector reads `enabled` (a real boolean; absent is false) and
// decodes the rest of the section into the entry's settings. Errors start
// with the key they concern (".enabled: …", ": unknown key …"), so that the
// caller can put the section's name in front.
func decodeConnector(entry connector, section map[string]any) (bool, any, error) {
	enabled := false
	if v, ok := section["enabled"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return false, nil, fmt.Errorf(".enabled: must be true or false, not %s", describeValue(v))
		}
		enabled = b
	}
	rest := maps.Clone(section)
	delete(rest, "enabled")
	settings := entry.newConfig()
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName:    "koanf",
		Result:     settings,
		Metadata:   &md,
		DecodeHook: mapstructure.StringToTimeDurationHookFunc(),
		// Not weakly typed: "yes" is not a boolean, "3" is not a number.
		WeaklyTypedInput: false,
	})
	if err != nil {
		return false, nil, fmt.Errorf(": %w", err)
	}
	if err := dec.Decode(rest); err != nil {
		msg := strings.TrimPrefix(err.Error(), "decoding failed due to the following error(s):")
		return false, nil, fmt.Errorf(": %s", strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " "))
	}
	if len(md.Unused) > 0 {
		sort.Strings(md.Unused)
		return false, nil, fmt.Errorf(": unknown key %s; known keys: %s", strings.Join(md.Unused, ", "), strings.Join(settingKeys(settings), ", "))
	}
	return enabled, settings, nil
}

// describeValue shows a misplaced value's type, and the value when it is a
// short string or a number (never a long string, which may be a secret).
func describeValue(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) <= 10 {
			return fmt.Sprintf("the string %q", x)
		}
		return "a string"
	case nil:
		return "empty"
	default:
		return fmt.Sprintf("%v (%T)", x, x)
	}
}

// settingKeys lists the top-level keys of a settings struct, and enabled.
func settingKeys(settings any) []string {
	keys := []string{"enabled"}
	t := reflect.TypeOf(settings)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			if name, _, _ := strings.Cut(t.Field(i).Tag.Get("koanf"), ","); name != "" && name != "-" {
				keys = append(keys, name)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func knownConnectors() string {
	if len(connectorRegistry) == 0 {
		return "none yet"
	}
	return strings.Join(slices.Sorted(maps.Keys(connectorRegistry)), ", ")
}
