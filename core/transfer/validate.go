package transfer

import (
	"context"
	"fmt"

	"github.com/dragonload/dragonload/core/origin"
)

// This file holds the validator rule: telling a server whose validators
// are merely inconsistent from a file that changed, and renewing an expired
// redirect target.

// verdict is what one fresh probe says about a validator mismatch.
type verdict int

const (
	unknown      verdict = iota // the probe left the validator out
	sameVersion                 // the origin still describes the pinned version
	otherVersion                // the origin describes another version
)

// judge compares a fresh probe's identity with the pin after a response
// differed in field ("" when the reporter could not say which). The size
// and every validator both sides have must agree for the same version;
// the field in question decides when present.
func judge(pin, fresh origin.Identity, field string) verdict {
	if why := differs(pin, fresh); why != "" {
		return otherVersion
	}
	switch field {
	case origin.FieldETag:
		if fresh.ETag == "" && fresh.WeakETag == "" {
			return unknown
		}
	case origin.FieldLastModified:
		if fresh.LastModified == "" {
			return unknown
		}
	}
	return sameVersion
}

// differs says how fresh is another version than pin, or "" when nothing
// that both describe disagrees.
func differs(pin, fresh origin.Identity) string {
	switch {
	case pin.Size >= 0 && fresh.Size >= 0 && pin.Size != fresh.Size:
		return fmt.Sprintf("its size went from %d to %d bytes", pin.Size, fresh.Size)
	case pin.ETag != "" && fresh.ETag != "" && pin.ETag != fresh.ETag:
		return fmt.Sprintf("its ETag went from %s to %s", pin.ETag, fresh.ETag)
	case pin.WeakETag != "" && fresh.WeakETag != "" && pin.WeakETag != fresh.WeakETag:
		return fmt.Sprintf("its ETag went from %s to %s", pin.WeakETag, fresh.WeakETag)
	case pin.ETag != "" && fresh.WeakETag != "" && fresh.ETag == "",
		pin.WeakETag != "" && fresh.ETag != "" && fresh.WeakETag == "":
		return fmt.Sprintf("its ETag went from %s to %s", pin.ETag+pin.WeakETag, fresh.ETag+fresh.WeakETag)
	case pin.LastModified != "" && fresh.LastModified != "" && pin.LastModified != fresh.LastModified:
		return fmt.Sprintf("its Last-Modified date went from %s to %s", pin.LastModified, fresh.LastModified)
	}
	return ""
}

// describeChange says what changed between two identities, for the error.
func describeChange(pin, fresh origin.Identity) string {
	if why := differs(pin, fresh); why != "" {
		return why
	}
	return "its validators differ from the ones pinned at the start"
}

// settleMismatch asks the origin again after a response's validators
// differed from the pin. If the origin still describes the pinned version,
// the validator that differed is dropped (it proves nothing on this
// server); if it describes another version, the file changed.
func (t *Transfer) settleMismatch(ctx context.Context, f *Failure) error {
	pin := t.Pin()
	if t.cfg.Probe == nil {
		return &ChangedError{Why: f.Err.Error()}
	}
	var seen []origin.Identity
	for range reprobes {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		fresh, err := t.cfg.Probe(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			// Cannot tell now: count it as a failure and look again later.
			t.lastErr = err
			return nil
		}
		switch v := judge(pin.Identity, fresh.Identity, f.Field); v {
		case sameVersion:
			t.dropValidator(f, pin.Identity)
			return nil
		case otherVersion:
			seen = append(seen, fresh.Identity)
		}
	}
	if len(seen) == 0 {
		// Every answer left the validator out: absence proves nothing.
		t.dropValidator(f, pin.Identity)
		return nil
	}
	return &ChangedError{Why: describeChange(pin.Identity, seen[len(seen)-1])}
}

// dropValidator stops checking the validator that was found inconsistent,
// for every source from the next request on.
func (t *Transfer) dropValidator(f *Failure, was origin.Identity) {
	field := f.Field
	t.mu.Lock()
	switch field {
	case origin.FieldETag:
		t.pin.Identity.ETag, t.pin.Identity.WeakETag = "", ""
	case origin.FieldLastModified:
		t.pin.Identity.LastModified = ""
	default:
		t.mu.Unlock()
		return // a peer's report without a field: just a failed request
	}
	t.mu.Unlock()
	t.log.Warn("the server's validators are inconsistent; no longer relying on one", "field", field, "pinned", was)
	t.cfg.Reporter.Notice(fmt.Sprintf("This server's validators are inconsistent (%s differs between answers for the same file); "+
		"going on without relying on it: the size%s still guard against mixing versions.", field, alsoGuards(was, field)))
}

func alsoGuards(id origin.Identity, dropped string) string {
	var more []string
	if dropped != origin.FieldETag && (id.ETag != "" || id.WeakETag != "") {
		more = append(more, "ETag")
	}
	if dropped != origin.FieldLastModified && id.LastModified != "" {
		more = append(more, "Last-Modified")
	}
	if len(more) == 0 {
		return " and the link's SHA-256, when it has one,"
	}
	return " and the " + more[0]
}

// refreshLink asks the original URL again after the redirect target
// stopped working, and continues with the fresh link if it serves the
// pinned version. A link that expires again before anything more became
// durable is refused for good.
func (t *Transfer) refreshLink(ctx context.Context, f *Failure) error {
	received, _ := t.progress()
	if t.cfg.Probe == nil || received <= t.expiredAt {
		return f.Err
	}
	t.expiredAt = received
	pin := t.Pin()
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	fresh, err := t.cfg.Probe(pctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("the download link stopped working and asking again failed: %w", err)
	}
	if why := differs(pin.Identity, fresh.Identity); why != "" {
		return &ChangedError{Why: why}
	}
	t.mu.Lock()
	t.pin.URL = fresh.URL
	t.mu.Unlock()
	t.log.Info("the redirected URL stopped working; continuing with a fresh one", "err", f.Err)
	return nil
}
