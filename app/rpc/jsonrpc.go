package rpc

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// JSON-RPC error codes, as aria2 uses them.
const (
	codeFailed         = 1 // the call ran and failed, or was not authorized
	codeParse          = -32700
	codeInvalidRequest = -32600
	codeNoMethod       = -32601
	codeInvalidParams  = -32602
)

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// response is one JSON-RPC response. aria2 answers with "id" first and
// always includes it (null when the request had none).
type response struct {
	ID      json.RawMessage `json:"id"`
	JSONRPC string          `json:"jsonrpc"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

func errorResponse(id json.RawMessage, code int, msg string) response {
	return response{ID: id, JSONRPC: "2.0", Error: &rpcError{Code: code, Message: msg}}
}

// callError is a failed call's message, sent as is (aria2's messages are
// sentences that start with a capital: "GID 2089b05ecca3d829 is not found").
type callError struct{ msg string }

func (e *callError) Error() string { return e.msg }

func fail(format string, args ...any) error { return &callError{fmt.Sprintf(format, args...)} }

var errUnauthorized = &rpcError{Code: codeFailed, Message: "Unauthorized"}

// handle answers one HTTP body or WebSocket message: a request or a batch.
// The status is aria2's HTTP status for the answer.
func (s *Server) handle(body []byte) ([]byte, int) {
	if !json.Valid(body) {
		return encode(errorResponse(nil, codeParse, "Parse error.")), http.StatusInternalServerError
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch trimmed[0] {
	case '{':
		r := s.handleOne(trimmed)
		return encode(r), statusOf(r)
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return encode(errorResponse(nil, codeParse, "Parse error.")), http.StatusInternalServerError
		}
		if len(items) > MaxCalls {
			return encode(errorResponse(nil, codeInvalidRequest,
				fmt.Sprintf("Invalid Request: a batch may hold at most %d calls.", MaxCalls))), http.StatusBadRequest
		}
		out := make([]response, 0, len(items))
		for _, it := range items {
			// Like aria2, a batch answers its objects and skips the rest.
			if t := bytes.TrimLeft(it, " \t\r\n"); len(t) > 0 && t[0] == '{' {
				out = append(out, s.handleOne(t))
			}
		}
		return encode(out), http.StatusOK
	}
	return encode(errorResponse(nil, codeInvalidRequest, "Invalid Request.")), http.StatusBadRequest
}

// statusOf is aria2's HTTP status for a single response.
func statusOf(r response) int {
	if r.Error == nil {
		return http.StatusOK
	}
	switch r.Error.Code {
	case codeFailed, codeInvalidRequest:
		return http.StatusBadRequest
	case codeNoMethod:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// handleOne answers one request object. Its members are read by their exact
// names (encoding/json alone would also take "ID" or "Method").
func (s *Server) handleOne(raw []byte) response {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return errorResponse(nil, codeInvalidRequest, "Invalid Request.")
	}
	id, ok := obj["id"]
	if !ok {
		return errorResponse(nil, codeInvalidRequest, "Invalid Request.")
	}
	var method string
	if err := json.Unmarshal(obj["method"], &method); err != nil || kindOf(obj["method"]) != '"' {
		return errorResponse(id, codeInvalidRequest, "Invalid Request.")
	}
	var p params
	if raw, ok := obj["params"]; ok {
		if kindOf(raw) != '[' {
			return errorResponse(id, codeInvalidParams, "Invalid params.")
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return errorResponse(id, codeInvalidParams, "Invalid params.")
		}
	}
	result, rerr := s.call(method, p, false)
	if rerr != nil {
		if rerr != errUnauthorized {
			s.log.Debug("call failed", "method", method, "err", rerr.Message)
		}
		return response{ID: id, JSONRPC: "2.0", Error: rerr}
	}
	return response{ID: id, JSONRPC: "2.0", Result: result}
}

// call runs one method. Every method but system.multicall takes the token
// first; a multicall's calls carry their own.
func (s *Server) call(name string, p params, inMulticall bool) (any, *rpcError) {
	if name == "system.multicall" {
		if inMulticall {
			return nil, &rpcError{Code: codeFailed, Message: "Recursive system.multicall forbidden."}
		}
		return s.multicall(p)
	}
	m, ok := methods[name]
	if !ok {
		return nil, &rpcError{Code: codeNoMethod, Message: "Method not found."}
	}
	p, ok = s.authorize(p)
	if !ok {
		s.log.Warn("refused a call without the right token", "method", name)
		return nil, errUnauthorized
	}
	result, err := m(s, p)
	if err != nil {
		return nil, &rpcError{Code: codeFailed, Message: err.Error()}
	}
	return result, nil
}

// authorize checks and strips the "token:SECRET" first parameter.
func (s *Server) authorize(p params) (params, bool) {
	if len(p) == 0 || kindOf(p[0]) != '"' {
		return p, false
	}
	var tok string
	if err := json.Unmarshal(p[0], &tok); err != nil {
		return p, false
	}
	secret, ok := strings.CutPrefix(tok, "token:")
	if !ok {
		return p, false
	}
	h := sha256.Sum256([]byte(secret))
	return p[1:], subtle.ConstantTimeCompare(h[:], s.secret[:]) == 1
}

// multicall runs system.multicall: [[{methodName, params}, ...]]. Each
// call is authorized by its own token; a failed call gives its error object
// in place of [result], as aria2 does, and the others still run. A token
// given to the multicall itself is optional but must be right.
func (s *Server) multicall(p params) (any, *rpcError) {
	if len(p) > 0 && kindOf(p[0]) == '"' {
		var ok bool
		if p, ok = s.authorize(p); !ok {
			return nil, errUnauthorized
		}
	}
	specs, _, err := p.list(0, true)
	if err != nil {
		return nil, &rpcError{Code: codeFailed, Message: err.Error()}
	}
	if len(specs) > MaxCalls {
		return nil, &rpcError{Code: codeFailed, Message: fmt.Sprintf("system.multicall may hold at most %d calls.", MaxCalls)}
	}
	out := make([]any, 0, len(specs))
	for _, spec := range specs {
		var obj map[string]json.RawMessage
		if kindOf(spec) != '{' || json.Unmarshal(spec, &obj) != nil {
			out = append(out, &rpcError{Code: codeFailed, Message: "system.multicall expected struct."})
			continue
		}
		var name string
		if kindOf(obj["methodName"]) != '"' || json.Unmarshal(obj["methodName"], &name) != nil {
			out = append(out, &rpcError{Code: codeFailed, Message: "Missing methodName."})
			continue
		}
		var inner params
		if raw := obj["params"]; kindOf(raw) == '[' {
			if json.Unmarshal(raw, &inner) != nil {
				inner = nil
			}
		}
		result, rerr := s.call(name, inner, true)
		if rerr != nil {
			out = append(out, rerr)
			continue
		}
		out = append(out, []any{result})
	}
	return out, nil
}

// kindOf is the first byte of a JSON value: '{', '[', '"', 'n', 't', 'f',
// or a digit or '-' for a number; 0 when empty.
func kindOf(raw json.RawMessage) byte {
	t := bytes.TrimLeft(raw, " \t\r\n")
	if len(t) == 0 {
		return 0
	}
	return t[0]
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only values built here are encoded; this is a bug, answered as
		// an internal error rather than a broken body.
		b, _ = json.Marshal(errorResponse(nil, -32603, "Internal error."))
	}
	return b
}

// params are a call's parameters after the token.
type params []json.RawMessage

func (p params) at(i int, required bool) (json.RawMessage, error) {
	if i < len(p) {
		return p[i], nil
	}
	if required {
		return nil, fail("The parameter at %d is required but missing.", i)
	}
	return nil, nil
}

func wrongType(i int) error { return fail("The parameter at %d has wrong type.", i) }

// str returns parameter i as a string; ok is false when it is absent.
func (p params) str(i int, required bool) (v string, ok bool, err error) {
	raw, err := p.at(i, required)
	if raw == nil || err != nil {
		return "", false, err
	}
	if kindOf(raw) != '"' || json.Unmarshal(raw, &v) != nil {
		return "", false, wrongType(i)
	}
	return v, true, nil
}

// list returns parameter i as a JSON array.
func (p params) list(i int, required bool) (v []json.RawMessage, ok bool, err error) {
	raw, err := p.at(i, required)
	if raw == nil || err != nil {
		return nil, false, err
	}
	if kindOf(raw) != '[' || json.Unmarshal(raw, &v) != nil {
		return nil, false, wrongType(i)
	}
	return v, true, nil
}

// dict returns parameter i as a JSON object.
func (p params) dict(i int, required bool) (v map[string]json.RawMessage, ok bool, err error) {
	raw, err := p.at(i, required)
	if raw == nil || err != nil {
		return nil, false, err
	}
	if kindOf(raw) != '{' || json.Unmarshal(raw, &v) != nil {
		return nil, false, wrongType(i)
	}
	return v, true, nil
}

// integer returns parameter i as an integer (a JSON number with no
// fraction or exponent that fits in 64 bits).
func (p params) integer(i int, required bool) (v int64, ok bool, err error) {
	raw, err := p.at(i, required)
	if raw == nil || err != nil {
		return 0, false, err
	}
	if k := kindOf(raw); k != '-' && (k < '0' || k > '9') || json.Unmarshal(raw, &v) != nil {
		return 0, false, wrongType(i)
	}
	return v, true, nil
}

// stringsOf returns the strings of a JSON array, skipping other values, as
// aria2 does for lists of URIs and keys.
func stringsOf(list []json.RawMessage) []string {
	out := make([]string, 0, len(list))
	for _, raw := range list {
		var s string
		if kindOf(raw) == '"' && json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}
