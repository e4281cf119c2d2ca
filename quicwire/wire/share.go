package wire

import (
	"encoding/binary"
	"fmt"
)

// The messages of protocol version 3: a member asks another what it holds
// of some content (HAVE, answered by HOLDING), reads bytes of it (READ,
// answered like FETCH) and searches what it shares (SEARCH, answered by
// FOUND).

// Key kinds: how a Key names content.
const (
	KeySHA256 = 1 // Sum is the SHA-256 of the whole content
	KeyOrigin = 2 // Sum is an origin key, computed by the asker
)

// Key names the content a HAVE or READ asks about.
type Key struct {
	Kind uint8
	Sum  [SumLen]byte
}

// Have asks a member what it holds of the content Key names.
type Have struct {
	Key Key
}

// Range is Length bytes from Offset, in a HOLDING list.
type Range struct {
	Offset, Length uint64
}

// Holding answers a HAVE. Have lists the bytes the holder can serve now,
// Claims those its own download is fetching; each list is strictly
// increasing, disjoint and not adjacent, and ends within Size. An all-zero
// SHA256 means the holder does not know it.
type Holding struct {
	Size   uint64
	SHA256 [SumLen]byte
	Name   string
	Have   []Range
	Claims []Range
}

// Read asks for bytes [Offset, Offset+Length) of the content Key names.
type Read struct {
	Key            Key
	Offset, Length uint64
}

// Search asks a member for the content it shares whose names match Words.
type Search struct {
	Words string
}

// Result is one entry of a FOUND.
type Result struct {
	Name   string
	Size   uint64
	SHA256 [SumLen]byte // all zero when unknown
}

// Found answers a SEARCH.
type Found struct {
	Results []Result
}

// AppendHave appends m as a whole frame.
func AppendHave(b []byte, m Have) ([]byte, error) {
	return appendFrame(b, TypeHave, func(b []byte) ([]byte, error) {
		return appendKey(b, m.Key)
	})
}

// DecodeHave decodes a HAVE payload.
func DecodeHave(p []byte) (Have, error) {
	d := decoder{b: p}
	var m Have
	d.key(&m.Key)
	if err := d.end(); err != nil {
		return Have{}, err
	}
	return m, nil
}

// AppendHolding appends m as a whole frame. It refuses a HOLDING the
// peer would refuse: a size of 0 or over 2^62, a name the wire cannot
// carry, or a list that breaks the rules.
func AppendHolding(b []byte, m Holding) ([]byte, error) {
	return appendFrame(b, TypeHolding, func(b []byte) ([]byte, error) {
		if err := checkSize(m.Size); err != nil {
			return nil, err
		}
		if err := checkRanges("have", m.Have, m.Size); err != nil {
			return nil, err
		}
		if err := checkRanges("claims", m.Claims, m.Size); err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, m.Size)
		b = append(b, m.SHA256[:]...)
		b, err := appendString(b, "name", m.Name, MaxName)
		if err != nil {
			return nil, err
		}
		b = appendRanges(b, m.Have)
		return appendRanges(b, m.Claims), nil
	})
}

// DecodeHolding decodes a HOLDING payload.
func DecodeHolding(p []byte) (Holding, error) {
	d := decoder{b: p}
	var m Holding
	m.Size = d.uvarint("size")
	if d.err == nil {
		d.err = checkSize(m.Size)
	}
	d.sum("sha256", &m.SHA256)
	m.Name = d.string("name", MaxName)
	m.Have = d.ranges("have", m.Size)
	m.Claims = d.ranges("claims", m.Size)
	if err := d.end(); err != nil {
		return Holding{}, err
	}
	return m, nil
}

// AppendRead appends m as a whole frame. It refuses a request the peer
// would refuse.
func AppendRead(b []byte, m Read) ([]byte, error) {
	return appendFrame(b, TypeRead, func(b []byte) ([]byte, error) {
		if err := checkRange(m.Offset, m.Length); err != nil {
			return nil, err
		}
		b, err := appendKey(b, m.Key)
		if err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, m.Offset)
		return binary.AppendUvarint(b, m.Length), nil
	})
}

// DecodeRead decodes a READ payload.
func DecodeRead(p []byte) (Read, error) {
	d := decoder{b: p}
	var m Read
	d.key(&m.Key)
	m.Offset = d.uvarint("offset")
	m.Length = d.uvarint("length")
	if d.err == nil {
		d.err = checkRange(m.Offset, m.Length)
	}
	if err := d.end(); err != nil {
		return Read{}, err
	}
	return m, nil
}

// AppendSearch appends m as a whole frame. Words must be 1 to 256 bytes
// of UTF-8.
func AppendSearch(b []byte, m Search) ([]byte, error) {
	return appendFrame(b, TypeSearch, func(b []byte) ([]byte, error) {
		if m.Words == "" {
			return nil, fmt.Errorf("%w: empty search words", ErrMalformed)
		}
		return appendString(b, "words", m.Words, MaxWords)
	})
}

// DecodeSearch decodes a SEARCH payload.
func DecodeSearch(p []byte) (Search, error) {
	d := decoder{b: p}
	var m Search
	m.Words = d.string("words", MaxWords)
	if d.err == nil && m.Words == "" {
		d.fail("empty search words")
	}
	if err := d.end(); err != nil {
		return Search{}, err
	}
	return m, nil
}

// AppendFound appends m as a whole frame. It refuses more than 64
// results, an empty name and a size of 0 or over 2^62.
func AppendFound(b []byte, m Found) ([]byte, error) {
	return appendFrame(b, TypeFound, func(b []byte) ([]byte, error) {
		if len(m.Results) > MaxResults {
			return nil, fmt.Errorf("%w: %d results, more than %d", ErrMalformed, len(m.Results), MaxResults)
		}
		b = binary.AppendUvarint(b, uint64(len(m.Results)))
		for _, r := range m.Results {
			if r.Name == "" {
				return nil, fmt.Errorf("%w: result with an empty name", ErrMalformed)
			}
			if err := checkSize(r.Size); err != nil {
				return nil, err
			}
			var err error
			if b, err = appendString(b, "result name", r.Name, MaxName); err != nil {
				return nil, err
			}
			b = binary.AppendUvarint(b, r.Size)
			b = append(b, r.SHA256[:]...)
		}
		return b, nil
	})
}

// DecodeFound decodes a FOUND payload.
func DecodeFound(p []byte) (Found, error) {
	d := decoder{b: p}
	var m Found
	count := d.uvarint("result count")
	if d.err == nil && count > MaxResults {
		d.fail(fmt.Sprintf("%d results, more than %d", count, MaxResults))
	}
	if d.err == nil && count > 0 {
		m.Results = make([]Result, count)
		for i := range m.Results {
			r := &m.Results[i]
			r.Name = d.string("result name", MaxName)
			if d.err == nil && r.Name == "" {
				d.fail("result with an empty name")
			}
			r.Size = d.uvarint("result size")
			if d.err == nil {
				d.err = checkSize(r.Size)
			}
			d.sum("result sha256", &r.SHA256)
			if d.err != nil {
				break
			}
		}
	}
	if err := d.end(); err != nil {
		return Found{}, err
	}
	return m, nil
}

func appendKey(b []byte, k Key) ([]byte, error) {
	if err := checkKeyKind(k.Kind); err != nil {
		return nil, err
	}
	b = append(b, k.Kind)
	return append(b, k.Sum[:]...), nil
}

func appendRanges(b []byte, rs []Range) []byte {
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for _, r := range rs {
		b = binary.AppendUvarint(b, r.Offset)
		b = binary.AppendUvarint(b, r.Length)
	}
	return b
}

func checkKeyKind(kind uint8) error {
	if kind != KeySHA256 && kind != KeyOrigin {
		return fmt.Errorf("%w: key kind %d", ErrMalformed, kind)
	}
	return nil
}

// checkSize keeps a content size to what both ends can hold in an int64.
func checkSize(size uint64) error {
	if size == 0 || size > MaxRange {
		return fmt.Errorf("%w: size %d not in 1..2^62", ErrMalformed, size)
	}
	return nil
}

// checkRanges holds a HOLDING list to its rules: at most 1024 ranges,
// none empty, each starting after the end of the one before (so that a
// list has exactly one encoding), the last ending within size.
func checkRanges(field string, rs []Range, size uint64) error {
	if len(rs) > MaxRanges {
		return fmt.Errorf("%w: %d %s ranges, more than %d", ErrMalformed, len(rs), field, MaxRanges)
	}
	var next uint64 // the lowest offset the next range may start at
	for i, r := range rs {
		switch {
		case r.Length == 0:
			return fmt.Errorf("%w: %s range %d is empty", ErrMalformed, field, i)
		case i > 0 && r.Offset < next:
			return fmt.Errorf("%w: %s range %d starts at %d, not after %d", ErrMalformed, field, i, r.Offset, next-1)
		case r.Offset > size || r.Length > size-r.Offset:
			return fmt.Errorf("%w: %s range %d+%d ends beyond size %d", ErrMalformed, field, r.Offset, r.Length, size)
		}
		next = r.Offset + r.Length + 1
	}
	return nil
}

func (d *decoder) key(k *Key) {
	k.Kind = d.byte("key kind")
	if d.err == nil {
		d.err = checkKeyKind(k.Kind)
	}
	d.sum("key sum", &k.Sum)
}

func (d *decoder) ranges(field string, size uint64) []Range {
	count := d.uvarint(field + " count")
	if d.err != nil || count == 0 {
		return nil
	}
	// Each range takes at least two bytes: refuse a count the payload
	// cannot hold before allocating for it.
	if count > MaxRanges || count > uint64(len(d.b))/2 {
		d.fail(fmt.Sprintf("%d %s ranges, more than %d or than the payload holds", count, field, MaxRanges))
		return nil
	}
	rs := make([]Range, count)
	for i := range rs {
		rs[i].Offset = d.uvarint(field + " offset")
		rs[i].Length = d.uvarint(field + " length")
	}
	if d.err == nil {
		d.err = checkRanges(field, rs, size)
	}
	if d.err != nil {
		return nil
	}
	return rs
}
