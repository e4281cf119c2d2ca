package wire

import (
	"encoding/binary"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Field caps, in bytes (see the package documentation).
const (
	MaxName         = 256
	MaxMessage      = 1 << 10
	MaxURL          = 8 << 10
	MaxHeaders      = 32
	MaxHeaderField  = 4 << 10 // name + value of one header
	MaxETag         = 1 << 10
	MaxLastModified = 256
	MaxRange        = 1 << 62 // offset + length; also the largest HOLDING, FOUND or NOTE size
	MaxRanges       = 1024    // ranges in each list of a HOLDING
	MaxWords        = 256     // SEARCH words
	MaxResults      = 64      // entries of a FOUND
	MaxDownloads    = 16      // entries of a NOTE
	MaxFile         = 256     // file name of a NOTE entry
	MaxLenders      = 64      // lender ids of one NOTE entry
)

// SumLen is the size of a CPace share, a confirmation tag or a SHA-256
// digest.
const SumLen = 32

// Hello is the client's first frame: the highest protocol version it
// speaks and its CPace share (the initiator's message).
type Hello struct {
	Version uint64
	Share   [SumLen]byte
}

// Welcome is the server's answer to a Hello: the version in use, its CPace
// share (the responder's message) and its key-confirmation tag. It says
// nothing else about the server: that waits for the client's tag.
type Welcome struct {
	Version uint64
	Share   [SumLen]byte
	Confirm [SumLen]byte
}

// Ident is the client's key-confirmation tag and display name, sent once it
// has checked the server's tag.
type Ident struct {
	Confirm [SumLen]byte
	Name    string
}

// Status answers a QUERY.
type Status struct {
	Lending bool
	Name    string
}

// Fetch asks the server for bytes [Offset, Offset+Length) of URL.
type Fetch struct {
	URL          string
	Headers      map[string]string
	Offset       uint64
	Length       uint64
	Size         int64
	ETag         string
	LastModified string
}

// End closes a successful fetch: how many bytes were sent and, before
// protocol version 4, their SHA-256 (Sum nil: none).
type End struct {
	Length uint64
	Sum    *[SumLen]byte
}

// Error closes a failed fetch.
type Error struct {
	Code         uint8
	HTTPStatus   uint64
	RetryAfterMS uint64
	Message      string
}

// AppendHello appends m as a whole frame.
func AppendHello(b []byte, m Hello) ([]byte, error) {
	return appendFrame(b, TypeHello, func(b []byte) ([]byte, error) {
		b = binary.AppendUvarint(b, m.Version)
		return append(b, m.Share[:]...), nil
	})
}

// DecodeHello decodes a HELLO payload.
func DecodeHello(p []byte) (Hello, error) {
	d := decoder{b: p}
	var m Hello
	m.Version = d.uvarint("version")
	d.sum("share", &m.Share)
	return m, d.err // the tail is reserved for later versions
}

// AppendWelcome appends m as a whole frame.
func AppendWelcome(b []byte, m Welcome) ([]byte, error) {
	return appendFrame(b, TypeWelcome, func(b []byte) ([]byte, error) {
		b = binary.AppendUvarint(b, m.Version)
		b = append(b, m.Share[:]...)
		return append(b, m.Confirm[:]...), nil
	})
}

// DecodeWelcome decodes a WELCOME payload.
func DecodeWelcome(p []byte) (Welcome, error) {
	d := decoder{b: p}
	var m Welcome
	m.Version = d.uvarint("version")
	d.sum("share", &m.Share)
	d.sum("confirm", &m.Confirm)
	return m, d.err // the tail is reserved for later versions
}

// AppendIdent appends m as a whole frame.
func AppendIdent(b []byte, m Ident) ([]byte, error) {
	return appendFrame(b, TypeIdent, func(b []byte) ([]byte, error) {
		b = append(b, m.Confirm[:]...)
		return appendString(b, "name", m.Name, MaxName)
	})
}

// DecodeIdent decodes an IDENT payload.
func DecodeIdent(p []byte) (Ident, error) {
	d := decoder{b: p}
	var m Ident
	d.sum("confirm", &m.Confirm)
	m.Name = d.string("name", MaxName)
	return m, d.end()
}

// AppendQuery appends a QUERY frame.
func AppendQuery(b []byte) []byte {
	return AppendHeader(b, TypeQuery, 0)
}

// DecodeQuery checks a QUERY payload, which is empty.
func DecodeQuery(p []byte) error {
	d := decoder{b: p}
	return d.end()
}

// AppendStatus appends m as a whole frame.
func AppendStatus(b []byte, m Status) ([]byte, error) {
	return appendFrame(b, TypeStatus, func(b []byte) ([]byte, error) {
		b = appendBool(b, m.Lending)
		return appendString(b, "name", m.Name, MaxName)
	})
}

// DecodeStatus decodes a STATUS payload.
func DecodeStatus(p []byte) (Status, error) {
	d := decoder{b: p}
	var m Status
	m.Lending = d.bool("lending")
	m.Name = d.string("name", MaxName)
	return m, d.end()
}

// AppendFetch appends m as a whole frame. It refuses a request the peer
// would refuse, so a caller learns of it without a round trip.
func AppendFetch(b []byte, m Fetch) ([]byte, error) {
	return appendFrame(b, TypeFetch, func(b []byte) ([]byte, error) {
		if m.URL == "" {
			return nil, fmt.Errorf("%w: empty url", ErrMalformed)
		}
		if len(m.Headers) > MaxHeaders {
			return nil, fmt.Errorf("%w: %d headers, more than %d", ErrMalformed, len(m.Headers), MaxHeaders)
		}
		if err := checkRange(m.Offset, m.Length); err != nil {
			return nil, err
		}
		b, err := appendString(b, "url", m.URL, MaxURL)
		if err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, uint64(len(m.Headers)))
		// Sorted, so the same request always encodes to the same bytes.
		names := make([]string, 0, len(m.Headers))
		for k := range m.Headers {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			v := m.Headers[k]
			if err := checkHeader(k, v); err != nil {
				return nil, err
			}
			b = appendRawString(b, k)
			b = appendRawString(b, v)
		}
		b = binary.AppendUvarint(b, m.Offset)
		b = binary.AppendUvarint(b, m.Length)
		b = binary.AppendVarint(b, m.Size)
		if b, err = appendString(b, "etag", m.ETag, MaxETag); err != nil {
			return nil, err
		}
		return appendString(b, "last-modified", m.LastModified, MaxLastModified)
	})
}

// DecodeFetch decodes a FETCH payload.
func DecodeFetch(p []byte) (Fetch, error) {
	d := decoder{b: p}
	var m Fetch
	m.URL = d.string("url", MaxURL)
	if d.err == nil && m.URL == "" {
		d.fail("empty url")
	}
	count := d.uvarint("header count")
	if d.err == nil && count > MaxHeaders {
		d.fail(fmt.Sprintf("%d headers, more than %d", count, MaxHeaders))
	}
	if d.err == nil && count > 0 {
		m.Headers = make(map[string]string, count)
		for i := uint64(0); i < count && d.err == nil; i++ {
			k := d.string("header name", MaxHeaderField)
			v := d.string("header value", MaxHeaderField)
			if d.err != nil {
				break
			}
			if err := checkHeader(k, v); err != nil {
				d.err = err
				break
			}
			if _, dup := m.Headers[k]; dup {
				d.fail("header " + k + " twice")
				break
			}
			m.Headers[k] = v
		}
	}
	m.Offset = d.uvarint("offset")
	m.Length = d.uvarint("length")
	if d.err == nil {
		d.err = checkRange(m.Offset, m.Length)
	}
	m.Size = d.varint("size")
	m.ETag = d.string("etag", MaxETag)
	m.LastModified = d.string("last-modified", MaxLastModified)
	if err := d.end(); err != nil {
		return Fetch{}, err
	}
	return m, nil
}

// AppendEnd appends m as a whole frame.
func AppendEnd(b []byte, m End) []byte {
	if m.Sum == nil {
		b = AppendHeader(b, TypeEnd, uvarintLen(m.Length))
		return binary.AppendUvarint(b, m.Length)
	}
	b = AppendHeader(b, TypeEnd, uvarintLen(m.Length)+SumLen)
	b = binary.AppendUvarint(b, m.Length)
	return append(b, m.Sum[:]...)
}

// DecodeEnd decodes an END payload, with or without a sum: which one the
// connection's version allows is for the caller to check.
func DecodeEnd(p []byte) (End, error) {
	d := decoder{b: p}
	var m End
	m.Length = d.uvarint("length")
	if d.err == nil && len(d.b) > 0 {
		m.Sum = new([SumLen]byte)
		d.sum("sha256", m.Sum)
	}
	return m, d.end()
}

// AppendError appends m as a whole frame. An over-long message is cut at a
// character boundary rather than refused: the code is what matters.
func AppendError(b []byte, m Error) ([]byte, error) {
	if m.Code == 0 {
		return nil, fmt.Errorf("%w: error code 0", ErrMalformed)
	}
	if m.HTTPStatus != 0 && (m.HTTPStatus < 100 || m.HTTPStatus > 999) {
		return nil, fmt.Errorf("%w: http status %d", ErrMalformed, m.HTTPStatus)
	}
	msg := truncateUTF8(m.Message, MaxMessage)
	return appendFrame(b, TypeError, func(b []byte) ([]byte, error) {
		b = append(b, m.Code)
		b = binary.AppendUvarint(b, m.HTTPStatus)
		b = binary.AppendUvarint(b, m.RetryAfterMS)
		return appendString(b, "message", msg, MaxMessage)
	})
}

// DecodeError decodes an ERROR payload.
func DecodeError(p []byte) (Error, error) {
	d := decoder{b: p}
	var m Error
	m.Code = d.byte("code")
	if d.err == nil && m.Code == 0 {
		d.fail("error code 0")
	}
	m.HTTPStatus = d.uvarint("http status")
	if d.err == nil && m.HTTPStatus != 0 && (m.HTTPStatus < 100 || m.HTTPStatus > 999) {
		d.fail(fmt.Sprintf("http status %d", m.HTTPStatus))
	}
	m.RetryAfterMS = d.uvarint("retry-after")
	m.Message = d.string("message", MaxMessage)
	if err := d.end(); err != nil {
		return Error{}, err
	}
	return m, nil
}

// appendFrame appends a frame whose payload body appends. The header is
// written in front of the payload once its length is known; a payload over
// the type's cap is refused.
func appendFrame(b []byte, t Type, body func([]byte) ([]byte, error)) ([]byte, error) {
	start := len(b)
	b = append(b, make([]byte, MaxHeaderLen)...)
	b, err := body(b)
	if err != nil {
		return nil, err
	}
	n := len(b) - start - MaxHeaderLen
	if n > MaxPayload(t) {
		return nil, fmt.Errorf("%w: %v payload of %d bytes exceeds cap %d", ErrMalformed, t, n, MaxPayload(t))
	}
	var hdr [MaxHeaderLen]byte
	h := AppendHeader(hdr[:0], t, n)
	copy(b[start+len(h):], b[start+MaxHeaderLen:])
	copy(b[start:], h)
	return b[:start+len(h)+n], nil
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendString(b []byte, field, s string, max int) ([]byte, error) {
	if len(s) > max {
		return nil, fmt.Errorf("%w: %s of %d bytes exceeds cap %d", ErrMalformed, field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: %s is not valid UTF-8", ErrMalformed, field)
	}
	return appendRawString(b, s), nil
}

func appendRawString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func checkRange(offset, length uint64) error {
	if length == 0 {
		return fmt.Errorf("%w: zero length", ErrMalformed)
	}
	if offset > MaxRange || length > MaxRange-offset {
		return fmt.Errorf("%w: range %d+%d beyond 2^62", ErrMalformed, offset, length)
	}
	return nil
}

// checkHeader keeps header fields to what an HTTP request may carry, so
// that no peer can smuggle a line break into the lender's origin request.
func checkHeader(name, value string) error {
	if len(name)+len(value) > MaxHeaderField {
		return fmt.Errorf("%w: header %.40q exceeds %d bytes", ErrMalformed, name, MaxHeaderField)
	}
	if name == "" {
		return fmt.Errorf("%w: empty header name", ErrMalformed)
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("%w: header name %.40q is not an HTTP token", ErrMalformed, name)
		}
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("%w: header %.40q value is not valid UTF-8", ErrMalformed, name)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return fmt.Errorf("%w: header %.40q value holds a control character", ErrMalformed, name)
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func truncateUTF8(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// decoder reads fields from a payload and remembers the first error, so
// that decode functions read as a list of fields.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(reason string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, reason)
	}
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := uvarint(d.b, binary.MaxVarintLen64)
	if n <= 0 {
		d.fail("bad " + field)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(field string) int64 {
	u := d.uvarint(field)
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("missing " + field)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bool(field string) bool {
	c := d.byte(field)
	if c > 1 {
		d.fail(field + " is not 0 or 1")
	}
	return c == 1
}

func (d *decoder) sum(field string, dst *[SumLen]byte) {
	if d.err != nil {
		return
	}
	if len(d.b) < SumLen {
		d.fail("short " + field)
		return
	}
	copy(dst[:], d.b)
	d.b = d.b[SumLen:]
}

func (d *decoder) string(field string, max int) string {
	n := d.uvarint(field + " length")
	if d.err != nil {
		return ""
	}
	if n > uint64(max) {
		d.fail(fmt.Sprintf("%s of %d bytes exceeds cap %d", field, n, max))
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail("short " + field)
		return ""
	}
	raw := d.b[:n]
	if !utf8.Valid(raw) {
		d.fail(field + " is not valid UTF-8")
		return ""
	}
	d.b = d.b[n:]
	return string(raw)
}

func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d bytes after the last field", len(d.b)))
	}
	return d.err
}
