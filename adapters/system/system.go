// Package system implements the ports that read the machine: the wall clock
// and the id source.
package system

import (
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"

	"kirjuri/ports"
)

// Clock is the wall clock, in UTC.
type Clock struct{}

func (Clock) Now() time.Time { return time.Now().UTC() }

// IDs makes UUID v7 ids: unique and ordered by time, so they index well.
type IDs struct{}

func (IDs) New() uuid.UUID { return uuid.Must(uuid.NewV7()) }

var (
	_ ports.Clock = Clock{}
	_ ports.IDs   = IDs{}
)

// Module provides the clock and the id source as ports.
var Module = fx.Module("system",
	fx.Provide(
		func() ports.Clock { return Clock{} },
		func() ports.IDs { return IDs{} },
	),
)
