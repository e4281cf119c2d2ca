package origin

import (
	"context"
	"fmt"
	"net/http"
	"sync"
)

// Open probes rawURL like Probe, with one GET for bytes [0, n) (n ≥ 1), and
// keeps the answer's body when ranges work: First holds the file's first
// min(n, size) bytes, still unread, to be streamed into the file as its
// first chunk. First is nil when the origin ignores or mislabels ranges, or
// the file is empty (Info says which, as Probe's does).
//
// ctx bounds Open itself, the wait for the answer's headers included. The
// body kept in First outlives it: First.Stream reads it under its own
// context, later. A First that is not streamed must be closed.
func (c *Client) Open(ctx context.Context, rawURL string, hdr map[string]string, n int64) (Info, *First, error) {
	if _, err := ValidateURL(rawURL); err != nil {
		return Info{}, nil, err
	}
	if err := ValidateHeaders(hdr); err != nil {
		return Info{}, nil, err
	}
	if n < 1 {
		return Info{}, nil, fmt.Errorf("probing %s for its first %d bytes: at least 1 is needed", rawURL, n)
	}

	// The request lives on a context of its own, so that its body can be
	// read after ctx ends; ctx cancels it only until the headers are in.
	rctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	resp, err := c.do(rctx, http.MethodGet, rawURL, hdr, fmt.Sprintf("bytes=0-%d", n-1))
	if !stop() && err == nil {
		// ctx ended as the answer came: its body is already cut off.
		resp.Body.Close()
		err = fmt.Errorf("requesting %s: %w", rawURL, context.Cause(ctx))
	}
	if err != nil {
		cancel(nil)
		return Info{}, nil, err
	}
	kept := false
	defer func() {
		if !kept {
			cancel(nil)
		}
	}()

	final := resp.Request.URL
	info := Info{
		URL:         final.String(),
		Headers:     keptHeaders(resp, hdr),
		ContentType: resp.Header.Get("Content-Type"),
		Name:        fileName(resp.Header.Get("Content-Disposition"), final),
		Identity:    identityOf(resp),
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr, bad := checkFirstRange(resp, n)
		if bad != nil {
			// Whatever came instead is not read any further.
			resp.Body.Close()
			known := int64(-1)
			if cr, err := parseContentRange(resp.Header.Get("Content-Range")); err == nil {
				known = cr.total
			}
			again, err := c.probeAgain(ctx, info, known, bad)
			return again, nil, err
		}
		info.Identity.Size = cr.total
		info.Ranges = true
		c.logProbed(info)
		kept = true
		return info, &First{c: c, resp: resp, url: info.URL, n: cr.last + 1, ctx: rctx, cancel: cancel}, nil
	case http.StatusOK:
		drain(resp)
		info.Identity.Size = resp.ContentLength
		c.log.Debug("origin ignores Range", "url", info.URL, "size", info.Identity.Size)
	case http.StatusRequestedRangeNotSatisfiable:
		defer drain(resp)
		// "bytes=0-(n-1)" is unsatisfiable only for an empty file.
		cr, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || cr.total != 0 {
			return Info{}, nil, c.statusError(resp)
		}
		info.Identity.Size = 0
		// The answer's type is its error page's, not the file's.
		info.ContentType = ""
	default:
		defer drain(resp)
		return Info{}, nil, c.statusError(resp)
	}
	c.logProbed(info)
	return info, nil, nil
}

// First is the unread body of the probe's answer: bytes [0, Len()) of the
// pinned file. Stream it or Close it; it holds a connection until then.
type First struct {
	c    *Client
	resp *http.Response
	url  string // Info.URL
	n    int64
	// ctx is the request's context and cancel ends it: the idle
	// watchdog's cause, Stream's ctx or the release.
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu   sync.Mutex
	used bool // Stream began or Close ran
}

// Len is the number of bytes the body holds: min(n, size) for Open's n.
func (f *First) Len() int64 { return f.n }

// Stream passes the bytes to sink in order, in slices of at most 64 KiB
// valid only during the call, with exactly Range's checks and errors:
// fewer bytes, or none for the idle timeout (30 s), is ErrShortBody after
// sink got what arrived; more is ErrRangeMismatch; sink's error ends it and
// is returned. It runs once; a second call fails. ctx's end aborts it.
func (f *First) Stream(ctx context.Context, sink func([]byte) error) error {
	if !f.take() {
		return fmt.Errorf("the first %d bytes of %s were already streamed or released", f.n, f.url)
	}
	defer f.cancel(nil)
	defer drain(f.resp)
	if ctx.Err() != nil {
		f.cancel(context.Cause(ctx)) // the drain then reads nothing
		return f.c.bodyError(f.ctx, context.Cause(ctx), f.url, 0, f.n)
	}
	stop := context.AfterFunc(ctx, func() { f.cancel(context.Cause(ctx)) })
	defer stop()
	return f.c.stream(f.ctx, f.cancel, f.resp, f.url, f.n, sink)
}

// Close releases the body unread; after Stream, or a second time, it does
// nothing. Call it whenever First is not streamed. A body short enough to
// be drained is read to its end, which keeps the connection for reuse.
func (f *First) Close() {
	if !f.take() {
		return
	}
	if f.n <= drainBytes {
		drain(f.resp)
	} else {
		// Reading part of it would not save the connection.
		f.resp.Body.Close()
	}
	f.cancel(nil)
}

// take marks f used and reports whether it was not yet.
func (f *First) take() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.used {
		return false
	}
	f.used = true
	return true
}
