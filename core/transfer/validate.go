package transfer

import (
	"fmt"

	"github.com/dragonload/dragonload/core/origin"
)

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
