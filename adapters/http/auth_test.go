package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"kirjuri/core/access"
	"kirjuri/ports/porttest/memstore"
)

// blockingKeys counts the lookups that reach the store and holds each until
// release is closed (when release is not nil).
type blockingKeys struct {
	*memstore.Store
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (b *blockingKeys) KeyByHash(ctx context.Context, hash []byte) (access.Key, error) {
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
	if b.release != nil {
		<-b.release
	}
	return b.Store.KeyByHash(ctx, hash)
}

func (b *blockingKeys) lookups() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

func newValidKeyStore(t *testing.T) *blockingKeys {
	t.Helper()
	st := memstore.New()
	k := access.Key{Name: "kassa", Scopes: []access.Scope{access.CustomersRead}, CreatedAt: time.Now()}
	if err := st.CreateKey(context.Background(), k, access.Hash("kir_valid")); err != nil {
		t.Fatal(err)
	}
	return &blockingKeys{Store: st}
}

// A flood of random keys costs the store at most the token bucket's burst
// (plus its refill as time passes), never pushes a valid key out of the
// cache, and the valid key is still answered from the cache.
func TestKeyCacheFloodOfUnknownKeys(t *testing.T) {
	keys := newValidKeyStore(t)
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := newKeyCache(keys, clock)
	ctx := context.Background()

	if _, found, err := c.lookup(ctx, "kir_valid"); !found || err != nil {
		t.Fatalf("valid key: found %v, %v", found, err)
	}

	const flood = 5000
	var (
		wg          sync.WaitGroup
		busy, other int
		resMu       sync.Mutex
	)
	for w := range 50 {
		wg.Go(func() {
			for i := range flood / 50 {
				_, found, err := c.lookup(ctx, fmt.Sprintf("kir_random-%d-%d", w, i))
				resMu.Lock()
				switch {
				case errors.Is(err, errKeyLookupsBusy):
					busy++
				case err != nil || found:
					other++
				}
				resMu.Unlock()
			}
		})
	}
	wg.Wait()
	if got, limit := keys.lookups(), 1+unknownLookupBurst; got > limit {
		t.Errorf("%d random keys caused %d store lookups, want at most %d", flood, got, limit)
	}
	if busy < flood-unknownLookupBurst || other != 0 {
		t.Errorf("%d of %d random keys were turned away as busy (want at least %d), %d gave another answer", busy, flood, flood-unknownLookupBurst, other)
	}
	if len(c.unknown) > keyCacheUnknownSize {
		t.Errorf("%d unknown keys remembered, limit %d", len(c.unknown), keyCacheUnknownSize)
	}

	before := keys.lookups()
	if _, found, err := c.lookup(ctx, "kir_valid"); !found || err != nil {
		t.Errorf("valid key after the flood: found %v, %v", found, err)
	}
	if keys.lookups() != before {
		t.Error("the valid key was not served from the cache after the flood")
	}

	// A second later the bucket has refilled unknownLookupRate tokens.
	advance(time.Second)
	for i := range 1000 {
		_, _, _ = c.lookup(ctx, fmt.Sprintf("kir_later-%d", i))
	}
	if got, limit := keys.lookups()-before, unknownLookupRate; got > limit {
		t.Errorf("a second later 1000 random keys caused %d lookups, want at most %d", got, limit)
	}

	// The bucket is empty, yet the valid key, once its entry expires, is
	// checked again rather than refused.
	advance(keyCacheTTL)
	for i := range 1000 {
		_, _, _ = c.lookup(ctx, fmt.Sprintf("kir_again-%d", i))
	}
	if _, found, err := c.lookup(ctx, "kir_valid"); !found || err != nil {
		t.Errorf("valid key after its TTL with the bucket empty: found %v, %v", found, err)
	}
}

// Concurrent requests with the same key share one store lookup.
func TestKeyCacheSingleFlight(t *testing.T) {
	keys := newValidKeyStore(t)
	keys.release = make(chan struct{})
	c := newKeyCache(keys, time.Now)
	var wg sync.WaitGroup
	results := make([]bool, 100)
	for i := range results {
		secret := "kir_valid"
		if i%2 == 1 {
			secret = "kir_unknown"
		}
		wg.Go(func() {
			_, found, err := c.lookup(context.Background(), secret)
			results[i] = found == (secret == "kir_valid") && err == nil
		})
	}
	// Let every goroutine reach the cache, then let the two lookups finish.
	for keys.lookups() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(keys.release)
	wg.Wait()
	if n := keys.lookups(); n != 2 {
		t.Errorf("100 concurrent requests with 2 keys caused %d store lookups, want 2", n)
	}
	for i, ok := range results {
		if !ok {
			t.Errorf("request %d got the wrong answer", i)
		}
	}
}

// A revoked key keeps working at most keyCacheTTL.
func TestKeyCacheRevokedKeyStopsWithinTTL(t *testing.T) {
	keys := newValidKeyStore(t)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newKeyCache(keys, func() time.Time { return now })
	ctx := context.Background()
	if _, found, _ := c.lookup(ctx, "kir_valid"); !found {
		t.Fatal("valid key not found")
	}
	if n, err := keys.RevokeKeys(ctx, "kassa", now); err != nil || n != 1 {
		t.Fatalf("RevokeKeys = %d, %v", n, err)
	}
	now = now.Add(keyCacheTTL - time.Second)
	if _, found, _ := c.lookup(ctx, "kir_valid"); !found {
		t.Error("the revoked key stopped before the cache's TTL: the cache is not used")
	}
	now = now.Add(time.Second)
	if _, found, err := c.lookup(ctx, "kir_valid"); found || err != nil {
		t.Errorf("the revoked key after the TTL: found %v, %v; want refused", found, err)
	}
	if _, ok := c.entries[[32]byte(access.Hash("kir_valid"))]; ok {
		t.Error("the revoked key is still among the valid keys")
	}
}

// Through the API: when unknown keys come faster than they may be looked up,
// the answer is 503 with Retry-After, and known keys keep working.
func TestUnknownKeyFloodAnswers503(t *testing.T) {
	h := newHarness(t)
	if r := h.do(req{method: http.MethodGet, path: "/v1/groups", key: "reader"}); r.code != http.StatusOK {
		t.Fatalf("reader: %d %s", r.code, r.body)
	}
	var unauthorized, unavailable int
	for i := range 200 {
		r := h.do(req{method: http.MethodGet, path: "/v1/groups", header: map[string]string{"Authorization": fmt.Sprintf("Bearer kir_flood-%d", i)}})
		switch r.code {
		case http.StatusUnauthorized:
			unauthorized++
		case http.StatusServiceUnavailable:
			unavailable++
			if r.header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
		default:
			t.Errorf("random key %d: %d %s", i, r.code, r.body)
		}
	}
	// The reader's first lookup took one token of the burst.
	if unavailable == 0 || unauthorized < unknownLookupBurst-1 {
		t.Errorf("200 random keys: %d answered 401, %d answered 503; want the first %d 401 and later ones 503", unauthorized, unavailable, unknownLookupBurst-1)
	}
	if r := h.do(req{method: http.MethodGet, path: "/v1/groups", key: "reader"}); r.code != http.StatusOK {
		t.Errorf("reader after the flood: %d %s", r.code, r.body)
	}
}
