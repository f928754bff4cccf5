package app

import (
	"fmt"
	"sort"
	"strings"

	"go.uber.org/fx"
)

// connectorBuilder turns one connector's configuration section into its fx
// option. It decodes strictly: an unknown key is an error.
type connectorBuilder func(section map[string]any) (fx.Option, error)

// connectorRegistry lists every connector kirjuri knows, by its config name.
// It is explicit on purpose (no init() self-registration): one place shows
// every external system the binary can talk to.
var connectorRegistry = map[string]connectorBuilder{}

// connectorOptions validates the connectors section and returns the options
// of the enabled connectors, sorted by name.
func connectorOptions(sections map[string]map[string]any) ([]fx.Option, error) {
	names := make([]string, 0, len(sections))
	for n := range sections {
		names = append(names, n)
	}
	sort.Strings(names)
	var opts []fx.Option
	for _, n := range names {
		build, ok := connectorRegistry[n]
		if !ok {
			return nil, fmt.Errorf("connectors.%s: unknown connector; known: %s", n, knownConnectors())
		}
		if enabled, _ := sections[n]["enabled"].(bool); !enabled {
			continue
		}
		o, err := build(sections[n])
		if err != nil {
			return nil, fmt.Errorf("connectors.%s: %w", n, err)
		}
		opts = append(opts, o)
	}
	return opts, nil
}

func knownConnectors() string {
	if len(connectorRegistry) == 0 {
		return "none yet"
	}
	names := make([]string, 0, len(connectorRegistry))
	for n := range connectorRegistry {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
