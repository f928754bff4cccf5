// Command kirjuri is the customer register: `kirjuri serve`, `kirjuri
// migrate`, `kirjuri apikey create|list|revoke`, `kirjuri rekey`.
package main

import (
	"os"

	"kirjuri/app"
)

func main() { os.Exit(app.Main(os.Args[1:])) }
