package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"kirjuri/adapters/excel"
)

// The client commands (export; import later) talk to a running service
// over its API, as any other client does: they need its URL and an API
// key, never the database.

// DefaultServiceURL is where the client commands find the service when
// neither --url nor KIRJURI_URL says.
const DefaultServiceURL = "http://127.0.0.1:8080"

// serviceFlags are the flags of a command that talks to the service.
type serviceFlags struct {
	url, key string
}

func (f *serviceFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "url", "", "the service's base URL (default $KIRJURI_URL, else "+DefaultServiceURL+")")
	cmd.Flags().StringVar(&f.key, "key", "", "the API key (default $KIRJURI_API_KEY)")
}

// resolve applies the environment and the defaults.
func (f *serviceFlags) resolve() (base *url.URL, key string, err error) {
	raw := f.url
	if raw == "" {
		raw = os.Getenv("KIRJURI_URL")
	}
	if raw == "" {
		raw = DefaultServiceURL
	}
	base, err = url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, "", fmt.Errorf("--url %q: give the service's base URL, as in %s", raw, DefaultServiceURL)
	}
	key = f.key
	if key == "" {
		key = os.Getenv("KIRJURI_API_KEY")
	}
	if strings.TrimSpace(key) == "" {
		return nil, "", errors.New("no API key: give --key or set KIRJURI_API_KEY")
	}
	return base, strings.TrimSpace(key), nil
}

// exportFilters are the export's query parameters, by flag name.
var exportFilters = []struct{ flag, param, usage string }{
	{"q", "q", "free text over names, company name, email, phone and customer number"},
	{"email", "email", "exact email, case-insensitive"},
	{"phone", "phone", "phone number"},
	{"number", "number", "customer number"},
	{"business-id", "businessId", "Finnish business id"},
	{"group", "group", "external id of a group"},
	{"type", "type", "person or company"},
	{"system-id", "systemId", "customers linked to this external system"},
	{"identifier", "identifier", "external identifier (with --system-id)"},
	{"updated-since", "updatedSince", "customers changed at or after this time (RFC 3339)"},
}

func exportCommand() *cobra.Command {
	var (
		svc                           serviceFlags
		values                        = make([]string, len(exportFilters))
		includeRestricted, includeSSN bool
	)
	cmd := &cobra.Command{
		Use:   "export FILE.xlsx",
		Short: "Download customers from a running service as a spreadsheet (the import format)",
		Long: "Downloads GET /v1/exports/customers.xlsx from a running service into FILE.xlsx, with the filters of a find. " +
			"The file is written beside FILE.xlsx under a temporary name, checked, and renamed into place only when whole; " +
			"an existing FILE.xlsx is replaced. A progress bar shows on standard error when it is a terminal.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			base, key, err := svc.resolve()
			if err != nil {
				return err
			}
			q := url.Values{}
			for i, f := range exportFilters {
				if cmd.Flags().Changed(f.flag) {
					q.Set(f.param, values[i])
				}
			}
			if includeRestricted {
				q.Set("includeRestricted", "true")
			}
			if includeSSN {
				q.Set("includeSsn", "true")
			}
			return runExport(cmd.Context(), exportRun{
				base: base, key: key, query: q, file: args[0],
				stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(), progress: isTerminal(cmd.ErrOrStderr()),
			})
		},
	}
	svc.register(cmd)
	for i, f := range exportFilters {
		cmd.Flags().StringVar(&values[i], f.flag, "", f.usage)
	}
	cmd.Flags().BoolVar(&includeRestricted, "include-restricted", false, "include customers under a GDPR restriction (needs the admin scope)")
	cmd.Flags().BoolVar(&includeSSN, "include-ssn", false, "write identity codes in full, the ssn column (needs the pii:read scope)")
	return cmd
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type exportRun struct {
	base     *url.URL
	key      string
	query    url.Values
	file     string
	stdout   io.Writer
	stderr   io.Writer
	progress bool
}

// serviceClient is the HTTP client of the client commands: no limit on a
// whole exchange (an export of a million customers takes a while), but
// limits on connecting and on waiting for the answer to begin.
func serviceClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
	}}
}

func runExport(ctx context.Context, r exportRun) (err error) {
	start := time.Now()
	u := *r.base
	u.Path = strings.TrimRight(u.Path, "/") + "/v1/exports/customers.xlsx"
	u.RawQuery = r.query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.key)
	req.Header.Set("User-Agent", "kirjuri-cli/"+Version)
	resp, err := serviceClient().Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the service at %s: %w", r.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return problemError("export", resp)
	}
	total, _ := strconv.ParseInt(resp.Header.Get("X-Total-Count"), 10, 64)

	dir, name := filepath.Split(r.file)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*.part")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()

	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetDescription(fmt.Sprintf("exporting %d customers", total)),
		progressbar.OptionSetWriter(r.stderr),
		progressbar.OptionSetVisibility(r.progress),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionFullWidth(),
		progressbar.OptionSetRenderBlankState(r.progress),
	)
	n, err := io.Copy(io.MultiWriter(tmp, bar), resp.Body)
	if r.progress {
		_ = bar.Finish()
		fmt.Fprintln(r.stderr)
	}
	if err != nil {
		// A failure on the service's side breaks the connection: what
		// arrived is not the whole file.
		return fmt.Errorf("the download broke off after %d bytes (nothing was written to %s): %w", n, r.file, err)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	rows, err := countSheetRows(tmp.Name())
	if err != nil {
		return fmt.Errorf("the service sent a file that does not read back (nothing was written to %s): %w", r.file, err)
	}
	if err := os.Rename(tmp.Name(), r.file); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "wrote %s: %d customers, %s in %s\n", r.file, rows, humanBytes(n), time.Since(start).Round(10*time.Millisecond))
	return nil
}

// countSheetRows reads the workbook through and counts its rows after the
// header: the download is whole only when it reads back.
func countSheetRows(path string) (int, error) {
	rd, err := excel.Open(path, excel.Limits{})
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	n := -1
	for rd.Next() {
		n++
	}
	if err := rd.Err(); err != nil {
		return 0, err
	}
	return max(n, 0), nil
}

// problemError turns a refused request into an error that says why: the
// problem's title, detail and the parameters it names.
func problemError(what string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Errors []struct {
			Location string `json:"location"`
			Message  string `json:"message"`
		} `json:"errors"`
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s refused: %s", what, resp.Status)
	if json.Unmarshal(body, &p) == nil && (p.Title != "" || p.Detail != "") {
		msg := p.Detail
		if msg == "" {
			msg = p.Title
		}
		fmt.Fprintf(&b, ": %s", msg)
		for _, e := range p.Errors {
			loc := e.Location
			if param, ok := strings.CutPrefix(loc, "query."); ok {
				loc = flagOf(param)
			}
			fmt.Fprintf(&b, "\n  %s: %s", loc, e.Message)
		}
	} else if t := bytes.TrimSpace(body); len(t) > 0 && len(t) < 300 {
		fmt.Fprintf(&b, ": %s", t)
	}
	return errors.New(b.String())
}

// flagOf names a query parameter by the flag that sets it.
func flagOf(param string) string {
	for _, f := range exportFilters {
		if f.param == param {
			return "--" + f.flag
		}
	}
	switch param {
	case "includeRestricted":
		return "--include-restricted"
	case "includeSsn":
		return "--include-ssn"
	}
	return param
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
