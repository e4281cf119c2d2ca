package origin

// SetAllowPrivate lifts (on) or restores (off) the SSRF guard's refusal of
// loopback, private and the other local addresses, like
// Options.AllowPrivate, while the client is in use: a user may turn on
// "allow LAN origins" in a running app. It holds for every connection
// made after the call. Requests already running go on: they were allowed
// when they connected. Idle kept-alive connections are closed when it is
// turned off, so that no later request reuses one to a private address.
// The refusals that AllowPrivate never lifts (cloud metadata services,
// malformed addresses) stay.
func (c *Client) SetAllowPrivate(on bool) {
	if c.guard == nil {
		return
	}
	if c.guard.allowPrivate.Swap(on) && !on {
		c.CloseIdleConnections()
	}
}

// AllowPrivate reports whether the guard lets loopback and private
// addresses through.
func (c *Client) AllowPrivate() bool { return c.guard != nil && c.guard.private() }
