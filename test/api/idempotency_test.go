package api

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"kirjuri/adapters/postgres/pgtest"
)

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := person("Iida", "Idempotentti", obj{"email": "iida@example.fi"})
	send := func(key, secret string, body any) *response {
		return e.do(req{method: http.MethodPost, path: "/v1/customers", key: secret, body: body,
			header: map[string]string{"Idempotency-Key": key}})
	}

	first := e.want(send("create-iida-1", writerSecret, body), http.StatusCreated)
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the first response says Idempotent-Replayed: %q", first.Header.Get("Idempotent-Replayed"))
	}
	again := e.want(send("create-iida-1", writerSecret, body), http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the repeat lacks Idempotent-Replayed: true (headers %v)", again.Header)
	}
	if !bytes.Equal(first.Body, again.Body) {
		t.Errorf("the repeat answers another body:\n first %s\n again %s", first.Body, again.Body)
	}
	for _, h := range []string{"Location", "ETag", "Content-Type"} {
		if first.Header.Get(h) != again.Header.Get(h) {
			t.Errorf("%s: first %q, repeat %q", h, first.Header.Get(h), again.Header.Get(h))
		}
	}
	if all := e.find("limit=500", bootstrapSecret); len(all.Items) != 1 {
		t.Fatalf("%d customers after the same create twice, want 1", len(all.Items))
	}

	// The same key with another body is refused and creates nothing.
	other := person("Iida", "Idempotentti", obj{"email": "toinen@example.fi"})
	e.wantProblem(send("create-iida-1", writerSecret, other), http.StatusUnprocessableEntity, "header.Idempotency-Key")
	if all := e.find("limit=500", bootstrapSecret); len(all.Items) != 1 {
		t.Errorf("%d customers after a reused key, want 1", len(all.Items))
	}
	// Keys belong to the API key that used them: another client's request
	// with the same Idempotency-Key is its own request.
	r := e.want(send("create-iida-1", bootstrapSecret, person("Iida", "Toinen", nil)), http.StatusCreated)
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("another API key's request was answered from the first one's")
	}

	// A refused request is kept too: the same bad body with the same key
	// answers the same problem.
	bad := person("Iida", "Virhe", obj{"ssn": "131052-308U"})
	r1 := e.wantProblem(send("bad-1", writerSecret, bad), http.StatusUnprocessableEntity, "body.ssn")
	r2resp := send("bad-1", writerSecret, bad)
	r2 := e.wantProblem(r2resp, http.StatusUnprocessableEntity, "body.ssn")
	if r2resp.Header.Get("Idempotent-Replayed") != "true" || r1.Detail != r2.Detail {
		t.Errorf("a repeated refused request: replayed %q, detail %q vs %q", r2resp.Header.Get("Idempotent-Replayed"), r1.Detail, r2.Detail)
	}

	// PATCH: the repeat answers the first response and changes nothing,
	// even after the customer changed since.
	c := decode[Customer](t, first)
	patch := func(key string, body any) *response {
		return e.patch(c.ID, body, map[string]string{"Idempotency-Key": key})
	}
	p1 := e.want(patch("rename-1", obj{"lastName": "Kerran"}), http.StatusOK)
	e.want(e.patch(c.ID, obj{"lastName": "Välissä"}, nil), http.StatusOK)
	p2 := e.want(patch("rename-1", obj{"lastName": "Kerran"}), http.StatusOK)
	if p2.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(p1.Body, p2.Body) || p1.Header.Get("ETag") != `"2"` || p2.Header.Get("ETag") != `"2"` {
		t.Errorf("repeated PATCH: replayed %q ETag %q/%q", p2.Header.Get("Idempotent-Replayed"), p1.Header.Get("ETag"), p2.Header.Get("ETag"))
	}
	if got := e.customer(c.ID); got.LastName != "Välissä" || got.Version != 3 {
		t.Errorf("the repeated PATCH changed the customer: lastName %q version %d", got.LastName, got.Version)
	}

	// DELETE: repeating an erasure answers the erasure, not 404.
	del := func() *response {
		return e.do(req{method: http.MethodDelete, path: "/v1/customers/" + c.ID, key: writerSecret,
			header: map[string]string{"Idempotency-Key": "erase-1"}})
	}
	d1 := e.want(del(), http.StatusOK)
	d2 := e.want(del(), http.StatusOK)
	if d2.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(d1.Body, d2.Body) {
		t.Errorf("repeated DELETE: replayed %q", d2.Header.Get("Idempotent-Replayed"))
	}
}

// TestIdempotencyKeyConcurrent: the same create sent many times at once makes
// one customer; every other answer is the replay or "still in progress".
func TestIdempotencyKeyConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := person("Rinnakkainen", "Luonti", obj{"externalId": "PAR-1"})
	const n = 10
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		resps = make([]*response, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			resps[i] = e.do(req{method: http.MethodPost, path: "/v1/customers", key: writerSecret, body: body,
				header: map[string]string{"Idempotency-Key": "parallel-1"}})
		})
	}
	close(start)
	wg.Wait()
	var created, replayed, busy int
	var createdBody []byte
	for _, r := range resps {
		switch {
		case r.Status == http.StatusCreated && r.Header.Get("Idempotent-Replayed") == "true":
			replayed++
		case r.Status == http.StatusCreated:
			created++
			createdBody = r.Body
		case r.Status == http.StatusConflict:
			busy++
			e.wantProblem(r, http.StatusConflict, "header.Idempotency-Key")
		default:
			t.Errorf("unexpected answer: %s", r)
		}
	}
	if created != 1 {
		t.Fatalf("%d fresh creates (%d replayed, %d in progress), want exactly 1", created, replayed, busy)
	}
	for _, r := range resps {
		if r.Header.Get("Idempotent-Replayed") == "true" && !bytes.Equal(r.Body, createdBody) {
			t.Errorf("a replay differs from the first response")
		}
	}
	if all := e.find("limit=500", bootstrapSecret); len(all.Items) != 1 {
		t.Errorf("%d customers, want 1", len(all.Items))
	}
}

// TestIdempotencyKeyAfterErasure: nothing of an erased customer can be read
// back through an Idempotency-Key, by replaying the create, a patch, a
// consents PUT or the erasure itself, and the idempotency table holds no
// identity code, email or name of it in plain text, before the erasure or
// after.
func TestIdempotencyKeyAfterErasure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const ssn = "131052-308T"
	secrets := []string{ssn, "poistettava.eemeli@example.fi", "Eemeli", "Poistettava", "Uusinimi", "0401234567", "401234567"}
	send := func(method, path, key string, body any) *response {
		return e.do(req{method: method, path: path, key: bootstrapSecret, body: body,
			header: map[string]string{"Idempotency-Key": key}})
	}
	createBody := person("Eemeli", "Poistettava", obj{"email": "poistettava.eemeli@example.fi", "ssn": ssn, "phoneNumbers": []string{"040 1234567"}})
	created := e.want(send(http.MethodPost, "/v1/customers", "create", createBody), http.StatusCreated)
	if !strings.Contains(string(created.Body), ssn) {
		t.Fatalf("the create does not show the identity code to a pii:read key: %s", created.Body)
	}
	c := decode[Customer](t, created)
	path := "/v1/customers/" + c.ID
	writes := []struct {
		method, path, key string
		body              any
	}{
		{http.MethodPost, "/v1/customers", "create", createBody},
		{http.MethodPatch, path, "patch", obj{"lastName": "Uusinimi"}},
		{http.MethodPut, path + "/consents", "consents", obj{"marketingEmail": true}},
	}
	for _, w := range writes[1:] {
		e.want(send(w.method, w.path, w.key, w.body), http.StatusOK)
	}
	rawTable := func() string {
		pool := pgtest.NewPool(t, e.dbURL)
		defer pool.Close()
		rows, err := pool.Query(context.Background(), `SELECT convert_to(t::text, 'UTF8') FROM idempotency_keys t`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var all []byte
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			all = append(append(all, b...), '\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return string(all)
	}
	noSecrets := func(what, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds %q", what, s)
			}
		}
	}
	// Before the erasure: replayed as they were, and kept sealed.
	for _, w := range writes {
		r := send(w.method, w.path, w.key, w.body)
		if r.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(r.Body), "Eemeli") {
			t.Errorf("%s %s before the erasure: %s, replayed %q", w.method, w.path, r, r.Header.Get("Idempotent-Replayed"))
		}
	}
	noSecrets("the idempotency table before the erasure", rawTable())

	erased := e.want(send(http.MethodDelete, path, "erase", nil), http.StatusOK)
	for _, w := range writes {
		r := send(w.method, w.path, w.key, w.body)
		e.wantProblem(r, http.StatusGone, "header.Idempotency-Key")
		if r.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s %s after the erasure is not marked replayed", w.method, w.path)
		}
		noSecrets(w.method+" "+w.path+" replayed after the erasure", string(r.Body))
	}
	again := e.want(send(http.MethodDelete, path, "erase", nil), http.StatusOK)
	if again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, erased.Body) {
		t.Errorf("the erasure's replay: %s, replayed %q", again, again.Header.Get("Idempotent-Replayed"))
	}
	noSecrets("the erasure's response", string(again.Body))
	noSecrets("the idempotency table after the erasure", rawTable())
	if all := e.find("limit=500&includeRestricted=true", bootstrapSecret); len(all.Items) != 0 {
		t.Errorf("%d customers after the erasure and the replays, want 0", len(all.Items))
	}
}
