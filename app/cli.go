package app

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"kirjuri/adapters/clickhouse"
	"kirjuri/adapters/postgres"
	"kirjuri/adapters/system"
	"kirjuri/core/access"
)

// Version is set at build time with -ldflags "-X kirjuri/app.Version=...".
var Version = "dev"

// Main runs the kirjuri command line and returns the process exit code.
func Main(args []string) int {
	root := rootCommand()
	root.SetArgs(args)
	// SIGHUP too: a closed terminal stops the service gracefully instead
	// of killing it.
	ctx, stop := stopContext(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kirjuri:", err)
		return 1
	}
	return 0
}

// stopContext is cancelled by the first of sigs, with the signal as its
// cause ("interrupt signal received"). Unlike signal.NotifyContext, it
// keeps catching sigs until the process exits: a later one is dropped,
// never given its default action, which killed the process with its work
// already done (exit 130 after "stopped gracefully"). One Ctrl-C under
// `go tool task run` reaches kirjuri up to three times, through the
// process group and passed on by the launcher (test/run:
// TestServeOutlastsRepeatedStopSignals); undoing the catch before the
// exit, as NotifyContext's stop and signal.Ignore do, leaves a moment in
// which such a copy kills the process. stop only cancels the context.
func stopContext(sigs ...os.Signal) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		select {
		case sig := <-ch:
			cancel(fmt.Errorf("%v signal received", sig))
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

func rootCommand() *cobra.Command {
	var configPath string
	root := &cobra.Command{
		Use:           "kirjuri",
		Short:         "Kirjuri, the customer register for Finnish merchants",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.PersistentFlags().StringVar(&configPath, "config", "", "YAML configuration file (default kirjuri.yaml if present)")
	load := func() (Config, error) { return LoadConfig(configPath) }

	root.AddCommand(&cobra.Command{
		Use:   "serve",
		Short: "Run the API, the consent audit relay and the job workers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return Serve(cmd.Context(), cfg)
		},
	})
	root.AddCommand(&cobra.Command{
		Use:   "migrate",
		Short: "Bring the PostgreSQL and ClickHouse schemas up to date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return migrate(cmd.Context(), cfg, cmd)
		},
	})
	root.AddCommand(apikeyCommand(load))
	root.AddCommand(rekeyCommand(load))
	root.AddCommand(exportCommand())
	root.AddCommand(importCommand())
	return root
}

func migrate(ctx context.Context, cfg Config, cmd *cobra.Command) error {
	if err := postgres.Migrate(ctx, cfg.Database.URL); err != nil {
		return fmt.Errorf("PostgreSQL: %w", err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), "PostgreSQL schema is up to date")
	if cfg.ClickHouse.URL == "" {
		fmt.Fprintln(cmd.OutOrStdout(), "ClickHouse not configured: skipped")
		return nil
	}
	if err := clickhouse.Migrate(ctx, cfg.ClickHouse.URL); err != nil {
		return fmt.Errorf("ClickHouse: %w", err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), "ClickHouse schema is up to date")
	return nil
}

func apikeyCommand(load func() (Config, error)) *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Manage API keys"}
	var name, scopes string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print its secret once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			sc, err := access.ParseScopes(scopes)
			if err != nil {
				return fmt.Errorf("--scopes: %w", err)
			}
			name = strings.TrimSpace(name)
			if name == "" {
				return fmt.Errorf("--name is required")
			}
			if name == BootstrapKeyName {
				return fmt.Errorf("--name: %q is the key of KIRJURI_BOOTSTRAP_API_KEY; choose another name", name)
			}
			return withKeyStore(cmd, cfg, func(ctx context.Context, store *postgres.Store) error {
				secret := NewSecret()
				key := access.Key{ID: system.IDs{}.New(), Name: name, Scopes: sc, CreatedAt: system.Clock{}.Now()}
				if err := store.CreateKey(ctx, key, access.Hash(secret)); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), secret)
				fmt.Fprintf(cmd.ErrOrStderr(), "created key %q with scopes %s; the secret above is shown only once\n", name, scopes)
				return nil
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "a name for the key (shown in logs and the audit log as its actor)")
	create.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes: "+strings.Join(access.ScopeNames(), ","))
	cmd.AddCommand(create)

	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List API keys (never their secrets): name, scopes, created, last used, revoked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return withKeyStore(cmd, cfg, func(ctx context.Context, store *postgres.Store) error {
				keys, err := store.ListKeys(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tSCOPES\tCREATED\tLAST USED\tREVOKED")
				for _, k := range keys {
					scopes := make([]string, len(k.Scopes))
					for i, s := range k.Scopes {
						scopes[i] = string(s)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.Name, strings.Join(scopes, ","),
						showTime(k.CreatedAt), showTime(k.LastUsedAt), showTime(k.RevokedAt))
				}
				return w.Flush()
			})
		},
	})

	cmd.AddCommand(&cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke the active API key named NAME; it stops working within " + keyCacheLifetime,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return withKeyStore(cmd, cfg, func(ctx context.Context, store *postgres.Store) error {
				n, err := store.RevokeKeys(ctx, args[0], system.Clock{}.Now())
				if err != nil {
					return err
				}
				if n == 0 {
					return fmt.Errorf("no active API key is named %q (kirjuri apikey list shows them)", args[0])
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked the key %q; running services refuse it within %s (their key cache)\n", args[0], keyCacheLifetime)
				if args[0] == BootstrapKeyName {
					fmt.Fprintln(cmd.ErrOrStderr(), "configure a new KIRJURI_BOOTSTRAP_API_KEY (or none): a service started with the revoked one refuses to start")
				}
				return nil
			})
		},
	})
	return cmd
}

// keyCacheLifetime is how long a running service may still accept a
// revoked key: the lifetime of its key cache (adapters/http).
const keyCacheLifetime = "30 seconds"

func showTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// withKeyStore runs fn for an apikey command with a store on a small pool
// (no identity-code key: the commands touch no code) and a 30-second limit.
func withKeyStore(cmd *cobra.Command, cfg Config, fn func(context.Context, *postgres.Store) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
	defer cancel()
	store, closeStore, err := openStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer closeStore()
	return fn(ctx, store)
}

// openStore opens a small pool and a store on it for a command; cipher may
// be nil when the command touches no identity code.
func openStore(ctx context.Context, cfg Config, cipher *postgres.SSNCipher) (*postgres.Store, func(), error) {
	pool, err := postgres.OpenPool(ctx, postgres.Config{DatabaseURL: cfg.Database.URL, MaxConns: 2})
	if err != nil {
		return nil, nil, err
	}
	return postgres.New(pool, cipher), pool.Close, nil
}

func rekeyCommand(load func() (Config, error)) *cobra.Command {
	var batch int
	cmd := &cobra.Command{
		Use:   "rekey",
		Short: "Re-encrypt every stored identity code with the current encryption key",
		Long: `Re-encrypt every stored identity code with encryptionKey (KIRJURI_ENCRYPTION_KEY).
Codes sealed by an old key are opened with encryptionOldKeys
(KIRJURI_ENCRYPTION_OLD_KEYS). Each batch commits on its own: an interrupted
run keeps its work, and running it again finishes the rest. When it reports
that nothing is left, the old keys can be removed from the configuration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			key, err := cfg.SSNKey()
			if err != nil {
				return err
			}
			old, err := cfg.SSNOldKeys()
			if err != nil {
				return err
			}
			cipher, err := postgres.NewSSNCipher(key, old...)
			if err != nil {
				return err
			}
			store, closeStore, err := openStore(cmd.Context(), cfg, cipher)
			if err != nil {
				return err
			}
			defer closeStore()
			out := cmd.ErrOrStderr()
			n, err := store.RekeySSNs(cmd.Context(), batch, func(done int) {
				fmt.Fprintf(out, "re-encrypted %d identity codes\n", done)
			})
			if err != nil {
				return fmt.Errorf("rekey stopped after %d identity codes (run it again to continue): %w", n, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "every identity code is encrypted with the current key (id %s); %d re-encrypted in this run\n", cipher.KeyID(), n)
			return nil
		},
	}
	cmd.Flags().IntVar(&batch, "batch-size", 500, "customers per transaction")
	return cmd
}
