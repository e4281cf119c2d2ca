// Package link reads and writes Dragonload links: .dragon files and
// dragon:// links. It is the one parser and the one formatter of both; the
// full specification with examples is docs/dragon-format.md.
//
// A link carries these fields (TOML key / dragon:// parameter):
//
//	url     / url       absolute http or https URL, no spaces or control
//	                    characters, at most 8 KiB; required unless sha256,
//	                    name and size are all given (see below)
//	name    / name      file name to save under: one path element, at most
//	                    200 bytes, no / \ < > : " | ? *, no control,
//	                    text-direction or other invisible characters
//	                    (names.IsInvisible), no leading dot or space, no
//	                    trailing dot or space, not . or .. or a Windows
//	                    device name in any form (names.IsWindowsDeviceName:
//	                    CON, NUL.txt, "aux .log", COM0, LPT¹, CONIN$ ...)
//	size    / size      length in bytes, at least 1; left out when unknown
//	                    (Link.Size == 0)
//	sha256  / sha256    64 hex digits, any case, stored lowercase
//	mirrors / mirror    more URLs for the url's bytes, each as url, at most
//	                    16, no repeats; the parameter repeats, in order;
//	                    only with a url
//	headers / header    request headers, at most 32, 16 KiB in all; name
//	                    and value pass the checks Go's HTTP client makes
//	                    (httpguts.ValidHeaderFieldName, ValidHeaderFieldValue):
//	                    the name an HTTP token of at most 128 bytes, the
//	                    value one line of UTF-8 without control characters
//	                    (tab allowed) or surrounding spaces; name+value at
//	                    most 4 KiB; names differing only in case clash;
//	                    Host, Range, If-Range, If-Match, If-None-Match,
//	                    If-Modified-Since, If-Unmodified-Since,
//	                    Content-Length, Transfer-Encoding, Connection,
//	                    Keep-Alive, Upgrade, TE, Trailer, Expect,
//	                    Accept-Encoding and every Proxy-* header are refused,
//	                    as origin.ValidateHeaders refuses them; the
//	                    parameter is "Name: value" and repeats. They are
//	                    sent only to the host they were given for (see
//	                    docs/origin.md); only with a url
//
// A link without a url (Link.HasOrigin is false) names its file by SHA-256
// alone, for machines in the room that hold a copy to supply; it must give
// sha256, name and size, and may not give mirrors or headers. The error
// says what is missing: "a link without a url must give sha256, name and
// size (missing: size)".
//
// A .dragon file is UTF-8 of at most MaxFileSize (64 KiB), with an optional
// byte order mark, in one of two forms:
//
//   - TOML 1.0 with the keys above. Unknown keys are errors, and so is
//     nesting lists or tables more than 8 deep or more than 32 dots outside
//     quotes on a line (bounding the TOML decoder's work). Format writes
//     url, name, size, sha256, mirrors (one per line), then a [headers]
//     table sorted by name, leaving out unset fields (the url too, in a
//     link without one).
//   - One line holding an http(s) URL or a dragon:// link, with any blank
//     lines around it. A file is in this form when its first non-blank line
//     starts with scheme:// or dragon: (no TOML line can); more non-blank
//     lines after it are an error. A link without a url is a dragon://
//     link in this form.
//
// A dragon:// link is "dragon:", an optional "//", an optional "/", then
// "?" and &-separated name=value parameters, %-decoded once ("+" stays a
// plus), so a URL's own escapes are escaped again (%20 as %2520).
// url, name, size and sha256 may appear once each; mirror and header repeat.
// Empty name, size and sha256 values count as absent; an empty url is an
// error. A "#" is an error. URI writes "dragon://?" then url, name, size,
// sha256, each mirror and each header (sorted by name), leaving out unset
// fields, %-encoding every byte except letters, digits and -._~:/@.
//
// Errors are one sentence and, in TOML, start with the line they are about:
// "line 2: sha256 must be 64 hex digits (got 3 characters)". Parse and
// ParseURI return only links that pass Validate, and Parse(l.Format()) and
// ParseURI(l.URI()) give back l for every l that passes Validate (with nil,
// not empty, Mirrors and Headers when there are none).
package link
