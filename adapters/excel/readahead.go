package excel

import (
	"io"
	"sync"
)

// readAheadParts inflates the worksheet and the shared strings on a
// goroutine of their own, a few chunks ahead of the scanner, so that
// inflating and scanning use two cores (see the benchmarks). A variable
// so that the benchmarks can compare both.
var readAheadParts = true

const (
	readAheadChunk  = 256 << 10
	readAheadChunks = 4 // buffers in flight: at most 1 MiB a part
)

// readAhead reads src on its own goroutine into a few reused buffers and
// hands them over in order. Close stops the goroutine and closes src.
type readAhead struct {
	src     io.ReadCloser
	full    chan chunk
	free    chan []byte
	stop    chan struct{}
	done    chan struct{}
	cur     []byte
	curBuf  []byte
	err     error
	closing sync.Once
}

type chunk struct {
	b   []byte
	err error
}

func newReadAhead(src io.ReadCloser) io.ReadCloser {
	if !readAheadParts {
		return src
	}
	ra := &readAhead{
		src:  src,
		full: make(chan chunk, readAheadChunks),
		free: make(chan []byte, readAheadChunks),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range readAheadChunks {
		ra.free <- make([]byte, readAheadChunk)
	}
	go ra.run()
	return ra
}

func (ra *readAhead) run() {
	defer close(ra.done)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.stop:
			return
		}
		n, err := io.ReadFull(ra.src, buf)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case ra.full <- chunk{buf[:n], err}:
		case <-ra.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.curBuf != nil {
			ra.free <- ra.curBuf[:cap(ra.curBuf)] // never blocks: it has room for every buffer
			ra.curBuf = nil
		}
		c := <-ra.full
		ra.cur, ra.curBuf, ra.err = c.b, c.b, c.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

func (ra *readAhead) Close() error {
	var err error
	ra.closing.Do(func() {
		close(ra.stop)
		<-ra.done
		err = ra.src.Close()
	})
	return err
}
