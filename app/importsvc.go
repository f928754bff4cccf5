package app

import (
	"go.uber.org/fx"
	"go.uber.org/zap"

	"kirjuri/adapters/excel"
	httpapi "kirjuri/adapters/http"
	"kirjuri/adapters/jobs"
	"kirjuri/adapters/postgres"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// importLimits are the reader's limits of the configuration.
func importLimits(cfg Config) excel.Limits {
	return excel.Limits{
		MaxPartBytes: cfg.Imports.MaxPartBytes,
		MaxRows:      cfg.Imports.MaxRows,
		MaxColumns:   cfg.Imports.MaxColumns,
		MaxCellBytes: cfg.Imports.MaxCellBytes,
	}
}

// importOptions wires spreadsheet imports: the HTTP operations (upload,
// follow, rejected rows, template), the worker of the queue imports, and
// the worker that copies the search text of customers written in bulk
// (search.index, default queue: the bulk path defers it).
func importOptions(cfg Config) fx.Option {
	limits := importLimits(cfg)
	return fx.Module("imports",
		fx.Provide(
			// The uploads the HTTP operation hands to this process's worker.
			func(lc fx.Lifecycle) *excel.KeptUploads {
				k := excel.NewKeptUploads()
				lc.Append(fx.StopHook(k.Close))
				return k
			},
			func(s *postgres.Store, kept *excel.KeptUploads) httpapi.ImportDeps {
				d := httpapi.ImportDeps{Store: s, Sheets: excel.NewImportSheets(limits), MaxUploadBytes: cfg.Imports.MaxUploadBytes}
				if cfg.Imports.Workers > 0 { // else no worker here would take them
					d.Uploads = kept
				}
				return d
			},
			jobs.AsWorker(func(reg *register.Service, s *postgres.Store, kept *excel.KeptUploads, log *zap.Logger) *excel.ImportWorker {
				return excel.NewImportWorker(reg, s, s, excel.ImportConfig{
					BatchRows: cfg.Imports.BatchRows, BatchWriters: cfg.Imports.BatchWriters, Limits: limits, Timeout: cfg.Imports.Timeout,
					Uploads: kept,
				}, log.Named("import"))
			}),
			jobs.AsWorker(postgres.NewSearchIndexWorker),
		),
	)
}

// importQueue adds the queue of imports, with imports.workers, to queues.
func importQueue(cfg Config, queues map[string]int) {
	if cfg.Imports.Workers > 0 {
		queues[ports.ImportQueue] = cfg.Imports.Workers
	}
}
