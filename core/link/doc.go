// Package link reads and writes Dragonload links: .dragon files and
// dragon:// links. It is the one parser and the one formatter of both; the
// full specification with examples is docs/dragon-format.md.
//
// A link carries these fields (TOML key / dragon:// parameter):
//
//	url     / url       required; absolute http or https URL, no spaces or
//	                    control characters, at most 8 KiB
//	name    / name      file name to save under: one path element, at most
//	                    200 bytes, no / \ < > : " | ? *, control or
//	                    text-direction characters, no leading dot or space,
//	                    no trailing dot or space, not . or .. or a Windows
//	                    device name
//	size    / size      length in bytes, at least 1; left out when unknown
//	                    (Link.Size == 0)
//	sha256  / sha256    64 hex digits, any case, stored lowercase
//	mirrors / mirror    more URLs for the same bytes, each as url, at most
//	                    16, no repeats; the parameter repeats, in order
//	headers / header    request headers, at most 32; name is an HTTP token,
//	                    value one line without control characters (tab
//	                    allowed) or surrounding spaces, name+value at most
//	                    4 KiB; names differing only in case clash; Host,
//	                    Range, If-Range, Content-Length, Transfer-Encoding,
//	                    Connection, Keep-Alive, Proxy-Connection, Upgrade,
//	                    TE, Trailer, Expect and Accept-Encoding are refused;
//	                    the parameter is "Name: value" and repeats
//
// A .dragon file is UTF-8 of at most MaxFileSize (64 KiB), with an optional
// byte order mark, in one of two forms:
//
//   - TOML 1.0 with the keys above. Unknown keys are errors, and so is
//     nesting lists or tables more than 8 deep or more than 32 dots outside
//     quotes on a line (bounding the TOML decoder's work). Format writes
//     url, name, size, sha256, mirrors (one per line), then a [headers]
//     table sorted by name, leaving out unset fields.
//   - One line holding an http(s) URL or a dragon:// link, with any blank
//     lines around it. A file is in this form when its first non-blank line
//     starts with scheme:// or dragon: (no TOML line can); more non-blank
//     lines after it are an error.
//
// A dragon:// link is "dragon:", an optional "//", an optional "/", then
// "?" and &-separated name=value parameters, %-decoded once ("+" stays a
// plus), so a URL's own escapes are escaped again (%20 as %2520).
// url, name, size and sha256 may appear once each; mirror and header repeat.
// Empty name, size and sha256 values count as absent. A "#" is an error.
// URI writes dragon://?url=... then name, size, sha256, each mirror and each
// header (sorted by name), %-encoding every byte except letters, digits and
// -._~:/@.
//
// Errors are one sentence and, in TOML, start with the line they are about:
// "line 2: sha256 must be 64 hex digits (got 3 characters)". Parse and
// ParseURI return only links that pass Validate, and Parse(l.Format()) and
// ParseURI(l.URI()) give back l for every l that passes Validate (with nil,
// not empty, Mirrors and Headers when there are none).
package link
