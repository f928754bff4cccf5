package app

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kirjuri:", err)
		return 1
	}
	return 0
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
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			pool, err := postgres.OpenPool(ctx, postgres.Config{DatabaseURL: cfg.Database.URL, MaxConns: 2})
			if err != nil {
				return err
			}
			defer pool.Close()
			secret := NewSecret()
			key := access.Key{ID: system.IDs{}.New(), Name: name, Scopes: sc, CreatedAt: system.Clock{}.Now()}
			if err := postgres.New(pool, nil).CreateKey(ctx, key, access.Hash(secret)); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			fmt.Fprintf(cmd.ErrOrStderr(), "created key %q with scopes %s; the secret above is shown only once\n", name, scopes)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "a name for the key (shown in logs and the audit log as its actor)")
	create.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes: "+strings.Join(access.ScopeNames(), ","))
	cmd.AddCommand(create)
	return cmd
}
