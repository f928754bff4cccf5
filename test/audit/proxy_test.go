package audit

import (
	"net"
	"sync"
	"testing"
	"time"
)

// proxy is a TCP forwarder on loopback between kirjuri and ClickHouse. The
// tests use it instead of stopping the ClickHouse server, which is shared
// with the other test packages of `go test ./...`.
//
//   - Cut makes ClickHouse unreachable: open connections are closed and new
//     ones are accepted and closed at once (the client sees its connection
//     end during the handshake), until Restore.
//   - Freeze holds back everything ClickHouse sends (its answers), while what
//     kirjuri sends still goes through; Thaw delivers what was held. A
//     statement sent while frozen runs on the server, but the client does
//     not learn that it did.
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu     sync.Mutex
	cond   *sync.Cond
	cut    bool
	frozen bool
	closed bool
	links  map[*link]struct{}
	wg     sync.WaitGroup
}

// link is one forwarded connection.
type link struct {
	client, server net.Conn
	closed         bool
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: listen: %v", err)
	}
	p := &proxy{t: t, ln: ln, target: target, links: map[*link]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is where clients connect.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		refuse := p.cut || p.closed
		p.mu.Unlock()
		if refuse {
			_ = c.Close()
			continue
		}
		s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		l := &link{client: c, server: s}
		p.mu.Lock()
		if p.cut || p.closed {
			p.mu.Unlock()
			_ = c.Close()
			_ = s.Close()
			continue
		}
		p.links[l] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(l, c, s, false)
		go p.pipe(l, s, c, true)
	}
}

// pipe copies from src to dst until either side ends. Answers (from the
// server) wait while the proxy is frozen.
func (p *proxy) pipe(l *link, src, dst net.Conn, answers bool) {
	defer p.wg.Done()
	defer p.drop(l)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if answers && !p.waitThawed(l) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF, reset or closed by Cut: the link ends either way
		}
	}
}

// waitThawed waits while the proxy is frozen; false when the link was closed
// meanwhile.
func (p *proxy) waitThawed(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.frozen && !l.closed && !p.closed {
		p.cond.Wait()
	}
	return !l.closed && !p.closed
}

func (p *proxy) drop(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeLocked(l)
}

func (p *proxy) closeLocked(l *link) {
	if l.closed {
		return
	}
	l.closed = true
	_ = l.client.Close()
	_ = l.server.Close()
	delete(p.links, l)
	p.cond.Broadcast()
}

// Cut makes ClickHouse unreachable until Restore.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for l := range p.links {
		p.closeLocked(l)
	}
}

// Restore lets connections through again.
func (p *proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// Freeze holds back ClickHouse's answers until Thaw.
func (p *proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
}

// Thaw delivers the held answers and lets new ones through.
func (p *proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = false
	p.cond.Broadcast()
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	for l := range p.links {
		p.closeLocked(l)
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	_ = p.ln.Close()
	p.wg.Wait()
}
