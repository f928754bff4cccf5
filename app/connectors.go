package app

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"go.uber.org/fx"
	"go.uber.org/zap"

	httpapi "kirjuri/adapters/http"
	"kirjuri/adapters/jobs"
	"kirjuri/adapters/postgres"
	"kirjuri/connectors/maestro"
	"kirjuri/connectors/matkahuolto"
	"kirjuri/connectors/mycashflow"
	"kirjuri/connectors/paytrail"
	"kirjuri/connectors/posti"
	"kirjuri/connectors/reservation"
	"kirjuri/connectors/webstore"
	"kirjuri/connectors/woocommerce"
	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
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
var connectorRegistry = map[string]connector{
	maestro.Name: connectorEntry(maestro.Defaults, func(c *maestro.Config) (fx.Option, error) {
		conn, err := maestro.New(*c)
		if err != nil {
			return nil, err
		}
		return provideConnector(conn), nil
	}),
	matkahuolto.Name: connectorEntry(matkahuolto.Defaults, func(c *matkahuolto.Config) (fx.Option, error) {
		conn, err := matkahuolto.New(*c)
		if err != nil {
			return nil, err
		}
		return provideConnector(conn), nil
	}),
	mycashflow.Name: connectorEntry(mycashflow.Defaults, func(c *mycashflow.Config) (fx.Option, error) {
		conn, err := mycashflow.New(*c)
		if err != nil {
			return nil, err
		}
		return provideConnector(conn), nil
	}),
	posti.Name: connectorEntry(posti.Defaults, func(c *posti.Config) (fx.Option, error) {
		conn, err := posti.New(*c)
		if err != nil {
			return nil, err
		}
		return provideConnector(conn), nil
	}),
	paytrail.Name: connectorEntry(paytrail.Defaults, func(c *paytrail.Config) (fx.Option, error) {
		conn, err := paytrail.New(*c)
		if err != nil {
			return nil, err
		}
		return provideConnector(conn), nil
	}),
	reservation.Name: connectorEntry(reservation.Defaults, func(c *reservation.Config) (fx.Option, error) {
		conn, err := reservation.New(*c)
		if err != nil {
			return nil, err
		}
		return provideConnector(conn), nil
	}),
	webstore.Name: connectorEntry(webstore.Defaults, func(c *webstore.Config) (fx.Option, error) {
		conn, err := webstore.New(*c)
		if err != nil {
			return nil, err
		}
		return provideConnector(conn), nil
	}),
	woocommerce.Name: connectorEntry(woocommerce.Defaults, func(c *woocommerce.Config) (fx.Option, error) {
		conn, err := woocommerce.New(*c)
		if err != nil {
			return nil, err
		}
		return provideConnector(conn), nil
	}),
}

// ConnectorGroup is the fx value group of the enabled connectors.
const ConnectorGroup = inbound.Group

// provideConnector adds an enabled connector to ConnectorGroup, in a
// module of its own.
func provideConnector(c inbound.Connector) fx.Option {
	return fx.Module("connector."+c.Name(), fx.Provide(fx.Annotate(
		func() inbound.Connector { return c },
		fx.ResultTags(`group:"`+ConnectorGroup+`"`),
	)))
}

// connectorsShared is what every enabled connector relies on, given once
// when at least one is enabled: the inbox (the PostgreSQL store), the
// register as the connectors' narrow port (ports.Ingest), and the job
// worker that processes deliveries.
var connectorsShared = fx.Module("connectors",
	fx.Provide(
		func(s *postgres.Store) ports.Inbox { return s },
		ingestPort,
		fx.Annotate(inbound.NewSet, fx.ParamTags(`group:"`+ConnectorGroup+`"`)),
		newDeliveryProcessor,
	),
	fx.Invoke(kickDrains),
)

// ingestPort is the register service as ports.Ingest.
func ingestPort(s *register.Service) ports.Ingest { return s }

func newDeliveryProcessor(set inbound.Set, inbox ports.Inbox, ingest ports.Ingest, clock ports.Clock, log *zap.Logger) *DeliveryProcessor {
	return &DeliveryProcessor{Inbox: inbox, Ingest: ingest, Connectors: set, Clock: clock, Log: log.Named("connectors")}
}

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
	opts := make([]fx.Option, 0, len(enabled)+1)
	if len(enabled) > 0 {
		opts = append(opts, connectorsShared, syncShared, fx.Provide(jobs.AsWorker(func(p *DeliveryProcessor) *DeliveryProcessor { return p })))
	}
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
	for _, f := range settingFields(reflect.TypeOf(settings)) {
		keys = append(keys, f.key)
	}
	sort.Strings(keys)
	return keys
}

// settingField is a setting of a connector's section: its key and type.
type settingField struct {
	key  string
	kind reflect.Kind
}

// settingFields are the settings of a connector's settings struct, with
// the settings of a struct it embeds with ",squash" in its place, as
// mapstructure decodes them.
func settingFields(t reflect.Type) []settingField {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []settingField
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("koanf"), ",")
		switch {
		case name == "" && opts == "squash":
			out = append(out, settingFields(f.Type)...)
		case name != "" && name != "-":
			out = append(out, settingField{key: name, kind: f.Type.Kind()})
		}
	}
	return out
}

func knownConnectors() string {
	if len(connectorRegistry) == 0 {
		return "none yet"
	}
	return strings.Join(slices.Sorted(maps.Keys(connectorRegistry)), ", ")
}

// connectorEnv reads connector settings from the environment, so that
// secrets need not be in the file: KIRJURI_CONNECTORS_<NAME>_<KEY>, the key
// in upper case with '_' between its words (connectors.webstore.signingSecret
// is KIRJURI_CONNECTORS_WEBSTORE_SIGNING_SECRET; enabled is
// KIRJURI_CONNECTORS_WEBSTORE_ENABLED, true or false). Only text settings
// and enabled are read this way. It returns config key → value.
func connectorEnv(lookup func(string) (string, bool)) map[string]any {
	out := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(connectorRegistry)) {
		prefix := "KIRJURI_CONNECTORS_" + strings.ToUpper(name) + "_"
		if v, ok := lookup(prefix + "ENABLED"); ok {
			var val any = v
			if b, err := strconv.ParseBool(v); err == nil {
				val = b
			}
			out["connectors."+name+".enabled"] = val
		}
		for _, f := range settingFields(reflect.TypeOf(connectorRegistry[name].newConfig())) {
			if f.kind != reflect.String {
				continue
			}
			if v, ok := lookup(prefix + upperSnake(f.key)); ok {
				out["connectors."+name+"."+f.key] = v
			}
		}
	}
	return out
}

// upperSnake turns signingSecret into SIGNING_SECRET.
func upperSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// webhookContracts are the JSON contracts of our own that connectors
// receive, published in the OpenAPI document as the webhook's body whether
// or not they are enabled.
func webhookContracts() []httpapi.WebhookContract {
	return []httpapi.WebhookContract{
		{Connector: webstore.Name, Schema: "WebstoreEvent", Payload: webstore.WebstoreEvent{}, Example: webstore.ExampleJSON},
		{Connector: reservation.Name, Schema: "ReservationEvent", Payload: reservation.ReservationEvent{}, Example: reservation.ExampleJSON},
	}
}
