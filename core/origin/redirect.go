package origin

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Request headers given by a user or a link (cookies, bearer tokens, API
// keys) are meant for the host they were given for. A redirect is the
// origin's choice, and so is its target: it must not carry them anywhere
// else. So, as browsers do with credentials and Go's client does with
// Authorization and Cookie (but not with other headers, and not on a
// downgrade to http), the first redirect to another host, or from https
// to http, drops every caller header and the credential headers, and they
// stay dropped for the rest of the chain, even if it comes back: a
// redirect from elsewhere back to the original host is that other host's
// choice too. Probe reports in Info.Headers whether they survived, so that
// later requests to the final URL follow the same rule.

// hopsKey carries a request's *hops in its context, where checkRedirect
// finds it: redirect requests share the first request's context.
type hopsKey struct{}

// hops is what checkRedirect needs to know about one chain of requests.
type hops struct {
	caller    []string // names of the caller's headers
	userAgent string   // the client's own, restored if the caller's goes
	dropped   bool     // the caller's headers are gone
}

func withHops(ctx context.Context, hdr map[string]string, userAgent string) context.Context {
	return context.WithValue(ctx, hopsKey{}, &hops{caller: slices.Collect(maps.Keys(hdr)), userAgent: userAgent})
}

// credentialHeaders are dropped with the caller's headers even though a
// caller cannot set them all (ValidateHeaders refuses Proxy-*): Go's
// client copies them on some redirects.
var credentialHeaders = []string{"Authorization", "Cookie", "Cookie2", "Proxy-Authorization", "Www-Authenticate"}

// guardRedirectHeaders applies the rule above to req, the next hop after
// via. It runs in CheckRedirect, after Go's client copied the previous
// hop's headers and set its Referer.
func guardRedirectHeaders(req *http.Request, via []*http.Request) {
	h, _ := req.Context().Value(hopsKey{}).(*hops)
	if h == nil {
		h = &hops{} // not sent by do; drop the credentials all the same
	}
	prev := via[len(via)-1].URL
	if !h.dropped && (!sameHost(via[0].URL, req.URL) || downgrade(prev, req.URL)) {
		h.dropped = true
	}
	if !h.dropped {
		return
	}
	for _, name := range h.caller {
		req.Header.Del(name)
	}
	for _, name := range credentialHeaders {
		req.Header.Del(name)
	}
	if req.Header.Get("User-Agent") == "" && h.userAgent != "" {
		req.Header.Set("User-Agent", h.userAgent)
	}
	// Go sets the previous URL as Referer, whole: its query may hold the
	// very token the headers were dropped to protect. Another host gets
	// the origin only, as browsers send it; an http hop after https gets
	// none.
	req.Header.Del("Referer")
	switch {
	case downgrade(prev, req.URL):
	case sameHost(prev, req.URL):
		ref := *prev
		ref.User = nil
		req.Header.Set("Referer", ref.String())
	default:
		req.Header.Set("Referer", (&url.URL{Scheme: prev.Scheme, Host: prev.Host, Path: "/"}).String())
	}
}

// headersKept reports whether the caller's headers reached the final
// request of resp's chain.
func headersKept(resp *http.Response) bool {
	h, _ := resp.Request.Context().Value(hopsKey{}).(*hops)
	return h == nil || !h.dropped
}

// keptHeaders is hdr if resp's chain kept it, else nil: the headers that
// may go to resp's final URL.
func keptHeaders(resp *http.Response, hdr map[string]string) map[string]string {
	if len(hdr) == 0 || !headersKept(resp) {
		return nil
	}
	return maps.Clone(hdr)
}

// sameHost reports whether a and b name the same host: the same name (in
// any case) and the same port, where the default port of each URL's own
// scheme counts as the same, so that http://h/ upgrading to https://h/
// keeps the headers.
func sameHost(a, b *url.URL) bool {
	if !strings.EqualFold(a.Hostname(), b.Hostname()) {
		return false
	}
	pa, pb := a.Port(), b.Port()
	return pa == pb || isDefaultPort(a.Scheme, pa) && isDefaultPort(b.Scheme, pb)
}

func isDefaultPort(scheme, port string) bool {
	switch port {
	case "":
		return true
	case "80":
		return strings.EqualFold(scheme, "http")
	case "443":
		return strings.EqualFold(scheme, "https")
	}
	return false
}

// downgrade reports a hop from https to http.
func downgrade(from, to *url.URL) bool {
	return strings.EqualFold(from.Scheme, "https") && strings.EqualFold(to.Scheme, "http")
}
