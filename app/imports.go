package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// ErrImportIncomplete is what `kirjuri import` returns when the import
// failed or rejected rows: the exit status is then 1.
var ErrImportIncomplete = errors.New("the import did not apply every row")

func importCommand() *cobra.Command {
	var (
		svc            serviceFlags
		dryRun, atomic bool
	)
	cmd := &cobra.Command{
		Use:   "import FILE.xlsx",
		Short: "Import customers from a spreadsheet into a running service",
		Long: "Uploads FILE.xlsx to POST /v1/imports of a running service, follows the job with a progress bar (on standard " +
			"error when it is a terminal), prints the report and, when rows were rejected, writes them with a reason column " +
			"to FILE.rejected.xlsx beside the file (fix them and import that file). The exit status is 0 when every row " +
			"was applied (or, with --dry-run, would be), 1 when the import failed or rejected rows.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			base, key, err := svc.resolve()
			if err != nil {
				return err
			}
			return runImport(cmd.Context(), importRun{
				base: base, key: key, file: args[0], dryRun: dryRun, atomic: atomic,
				stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(), progress: isTerminal(cmd.ErrOrStderr()),
			})
		},
	}
	svc.register(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check every row and write nothing")
	cmd.Flags().BoolVar(&atomic, "atomic", false, "write every row or none")
	return cmd
}

type importRun struct {
	base           *url.URL
	key            string
	file           string
	dryRun, atomic bool
	stdout, stderr io.Writer
	progress       bool
	poll           time.Duration
}

// importReport is GET /v1/imports/{id}.
type importReport struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	RowsTotal int64  `json:"rowsTotal"`
	RowsDone  int64  `json:"rowsDone"`
	Created   int64  `json:"created"`
	Updated   int64  `json:"updated"`
	Unchanged int64  `json:"unchanged"`
	Rejected  int64  `json:"rejected"`
	Errors    []struct {
		Row     int    `json:"row"`
		Column  string `json:"column"`
		Message string `json:"message"`
	} `json:"errors"`
	ErrorsTruncated bool `json:"errorsTruncated"`
}

func runImport(ctx context.Context, r importRun) error {
	if r.poll == 0 {
		r.poll = 250 * time.Millisecond
	}
	f, err := os.Open(r.file)
	if err != nil {
		return err
	}
	defer f.Close()
	client := serviceClient()
	// The body streams from the file through a pipe: it is never held
	// whole in memory.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for k, v := range map[string]bool{"dryRun": r.dryRun, "atomic": r.atomic} {
				if err := mw.WriteField(k, fmt.Sprint(v)); err != nil {
					return err
				}
			}
			fw, err := mw.CreateFormFile("file", filepath.Base(r.file))
			if err != nil {
				return err
			}
			if _, err := io.Copy(fw, f); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base.String()+"/v1/imports", pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+r.key)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return problemError("import", resp)
	}
	var job importReport
	if err := json.NewDecoder(resp.Body).Decode(&job); err != nil {
		return fmt.Errorf("import: the answer: %w", err)
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetDescription("importing "+filepath.Base(r.file)),
		progressbar.OptionSetWriter(r.stderr),
		progressbar.OptionSetVisibility(r.progress),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionFullWidth(),
	)
	for job.Status != "succeeded" && job.Status != "failed" {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.poll):
		}
		if err := getJSON(ctx, client, r, "/v1/imports/"+job.ID, &job); err != nil {
			return err
		}
		if job.RowsTotal > 0 && bar.GetMax64() != job.RowsTotal {
			bar.ChangeMax64(job.RowsTotal)
		}
		_ = bar.Set64(job.RowsDone)
	}
	_ = bar.Finish()
	if r.progress {
		fmt.Fprintln(r.stderr)
	}
	what := "import"
	if r.dryRun {
		what = "dry run"
	}
	fmt.Fprintf(r.stdout, "%s %s: %s; %d rows: %d created, %d updated, %d unchanged, %d rejected\n",
		what, job.ID, job.Status, job.RowsTotal, job.Created, job.Updated, job.Unchanged, job.Rejected)
	for _, e := range job.Errors {
		switch {
		case e.Row == 0:
			fmt.Fprintf(r.stdout, "  file: %s\n", joinColumn(e.Column, e.Message))
		default:
			fmt.Fprintf(r.stdout, "  row %d: %s\n", e.Row, joinColumn(e.Column, e.Message))
		}
	}
	if job.ErrorsTruncated {
		fmt.Fprintln(r.stdout, "  … (more in the rejected rows file)")
	}
	if job.Rejected > 0 {
		out := strings.TrimSuffix(r.file, filepath.Ext(r.file)) + ".rejected.xlsx"
		if err := download(ctx, client, r, "/v1/imports/"+job.ID+"/rejected.xlsx", out); err != nil {
			return err
		}
		fmt.Fprintf(r.stdout, "wrote the rejected rows to %s\n", out)
	}
	if job.Status != "succeeded" || job.Rejected > 0 {
		return ErrImportIncomplete
	}
	return nil
}

func joinColumn(col, msg string) string {
	if col == "" {
		return msg
	}
	return col + ": " + msg
}

// get asks the service for path with the run's key; a status other than
// 200 is the problem the service answered, under what.
func get(ctx context.Context, c *http.Client, r importRun, path, what string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base.String()+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.key)
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, problemError(what, resp)
	}
	return resp, nil
}

func getJSON(ctx context.Context, c *http.Client, r importRun, path string, v any) error {
	resp, err := get(ctx, c, r, path, "follow the import")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// download writes path's body to out, through a temporary file renamed
// into place when whole.
func download(ctx context.Context, c *http.Client, r importRun, path, out string) error {
	resp, err := get(ctx, c, r, path, "download the rejected rows")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), ".kirjuri-rejected-*.xlsx")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, resp.Body); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("download the rejected rows: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
