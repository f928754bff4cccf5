// Package connectors is the home of one package per external system
// (woocommerce, mycashflow, paytrail, posti, matkahuolto, maestro, webstore,
// reservation). Each turns its system's deliveries into core patches with an
// external-system link and never writes to the store itself; see
// ../shared/spec/connectors.md. The registry that enables them from
// configuration is app/connectors.go: each entry gives a typed settings
// struct (koanf tags) and a builder. Every `connectors.<name>` section is
// decoded into its struct strictly, enabled or not: `enabled` must be a
// real boolean, and an unknown key or a value of the wrong type stops the
// start.
//
// The contract every connector shares is not here, since connectors may
// not import one another: ports/inbound holds what a connector is and its
// optional capabilities (Verifier, Receiver, Handshaker), the set of the
// enabled ones and the jobs that drain the inbox, pull and push; ports/delivery the
// signature schemes (Standard Webhooks, the carriers' Kirjuri-Signature),
// JSONError (decoding errors without values) and SplitName. The delivery
// worker that turns a stored delivery into drafts for the register
// (ports.Ingest) is app.DeliveryProcessor; the webhook route, the inbox and
// the dead letters are in adapters/http/connectors.go and
// adapters/postgres/inbox.go. Pulls (inbound.Puller, driven by the sync
// job) and pushes (inbound.Pusher, driven by the push job) are capabilities
// a connector has only when its settings allow them: woocommerce and
// mycashflow pull and, with push: true, push. Every one of the eight
// systems has its package: maestro takes the merchant's own CSV or JSON
// exports through a configurable column mapping.
package connectors
