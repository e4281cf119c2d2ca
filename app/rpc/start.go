package rpc

import "log/slog"

// Start serves eng on addr (a loopback address) with the secret from
// DRAGONLOAD_RPC_SECRET or stored under home (made on first use), the way
// `dragonload agent --rpc ADDR` and the app do. Close the server before
// the engine.
func Start(eng Engine, home, addr, version string, log *slog.Logger) (*Server, error) {
	if err := CheckAddr(addr); err != nil {
		return nil, err
	}
	secret, err := LoadOrCreateSecret(home)
	if err != nil {
		return nil, err
	}
	srv, err := New(eng, Options{Secret: secret, Logger: log, Version: version})
	if err != nil {
		return nil, err
	}
	ln, err := Listen(addr)
	if err != nil {
		srv.Close()
		return nil, err
	}
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Error("the aria2 RPC server stopped", "err", err)
		}
	}()
	log.Info("aria2 RPC listening", "addr", ln.Addr().String())
	return srv, nil
}
