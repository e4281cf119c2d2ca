package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// NOTE (protocol version 3): a member tells another what it is
// downloading now and how far each download has come, so that a lender
// knows whom it helps and every member can show what each peer is
// downloading. A NOTE opens a request stream and has no answer: the
// server reads it, hands it on and closes its side.

// Download is one entry of a NOTE: a download the sender is running.
// Done is the bytes the whole download has, all sources together; Size
// is 0 when unknown, else Done ≤ Size. Lenders are the node ids (SHA-256
// of the public key) of the members fetching for it now, strictly
// increasing in byte order.
type Download struct {
	File    string
	Done    uint64
	Size    uint64
	Lenders [][SumLen]byte
}

// Note is what a member is downloading now; no entry means nothing.
type Note struct {
	Downloads []Download
}

// AppendNote appends m as a whole frame. It refuses a NOTE the peer would
// refuse: more than 16 entries, a file name empty or over 256 bytes or
// not UTF-8, a size over 2^62, done beyond the size (or beyond 2^62 when
// the size is unknown), more than 64 lenders, lenders out of order or
// twice, or a payload over 16 KiB.
func AppendNote(b []byte, m Note) ([]byte, error) {
	return appendFrame(b, TypeNote, func(b []byte) ([]byte, error) {
		if len(m.Downloads) > MaxDownloads {
			return nil, fmt.Errorf("%w: %d downloads, more than %d", ErrMalformed, len(m.Downloads), MaxDownloads)
		}
		b = binary.AppendUvarint(b, uint64(len(m.Downloads)))
		for _, e := range m.Downloads {
			if e.File == "" {
				return nil, fmt.Errorf("%w: download with an empty file name", ErrMalformed)
			}
			if err := checkProgress(e.Done, e.Size); err != nil {
				return nil, err
			}
			if err := checkLenders(e.Lenders); err != nil {
				return nil, err
			}
			var err error
			if b, err = appendString(b, "file", e.File, MaxFile); err != nil {
				return nil, err
			}
			b = binary.AppendUvarint(b, e.Done)
			b = binary.AppendUvarint(b, e.Size)
			b = binary.AppendUvarint(b, uint64(len(e.Lenders)))
			for _, id := range e.Lenders {
				b = append(b, id[:]...)
			}
		}
		return b, nil
	})
}

// DecodeNote decodes a NOTE payload. It refuses one over the cap too,
// as AppendNote does, although a Reader never hands such a payload on:
// the lists' own caps would allow about 37 KiB.
func DecodeNote(p []byte) (Note, error) {
	d := decoder{b: p}
	var m Note
	if len(p) > MaxPayload(TypeNote) {
		d.fail(fmt.Sprintf("NOTE payload of %d bytes exceeds cap %d", len(p), MaxPayload(TypeNote)))
	}
	count := d.uvarint("download count")
	if d.err == nil && count > MaxDownloads {
		d.fail(fmt.Sprintf("%d downloads, more than %d", count, MaxDownloads))
	}
	if d.err == nil && count > 0 {
		m.Downloads = make([]Download, count)
		for i := range m.Downloads {
			e := &m.Downloads[i]
			e.File = d.string("file", MaxFile)
			if d.err == nil && e.File == "" {
				d.fail("download with an empty file name")
			}
			e.Done = d.uvarint("done")
			e.Size = d.uvarint("size")
			if d.err == nil {
				d.err = checkProgress(e.Done, e.Size)
			}
			e.Lenders = d.lenders()
			if d.err != nil {
				break
			}
		}
	}
	if err := d.end(); err != nil {
		return Note{}, err
	}
	return m, nil
}

// NoteSize is the payload size of m as AppendNote would encode it, valid
// or not, so that a sender can cut a NOTE to the 16 KiB cap beforehand.
func NoteSize(m Note) int {
	n := uvarintLen(uint64(len(m.Downloads)))
	for _, e := range m.Downloads {
		n += uvarintLen(uint64(len(e.File))) + len(e.File) +
			uvarintLen(e.Done) + uvarintLen(e.Size) +
			uvarintLen(uint64(len(e.Lenders))) + len(e.Lenders)*SumLen
	}
	return n
}

// checkProgress holds done and size to what both ends can hold in an
// int64: size at most 2^62 (0 is unknown), done at most size when it is
// known and at most 2^62 when it is not.
func checkProgress(done, size uint64) error {
	switch {
	case size > MaxRange:
		return fmt.Errorf("%w: size %d beyond 2^62", ErrMalformed, size)
	case size != 0 && done > size:
		return fmt.Errorf("%w: done %d beyond size %d", ErrMalformed, done, size)
	case done > MaxRange:
		return fmt.Errorf("%w: done %d beyond 2^62", ErrMalformed, done)
	}
	return nil
}

// checkLenders holds a lender list to its rules: at most 64 ids, each
// greater than the one before in byte order (so no id twice, and a list
// has exactly one encoding).
func checkLenders(ids [][SumLen]byte) error {
	if len(ids) > MaxLenders {
		return fmt.Errorf("%w: %d lenders, more than %d", ErrMalformed, len(ids), MaxLenders)
	}
	for i := 1; i < len(ids); i++ {
		if bytes.Compare(ids[i-1][:], ids[i][:]) >= 0 {
			return fmt.Errorf("%w: lender %d not after lender %d in byte order", ErrMalformed, i, i-1)
		}
	}
	return nil
}

func (d *decoder) lenders() [][SumLen]byte {
	count := d.uvarint("lender count")
	if d.err != nil || count == 0 {
		return nil
	}
	// Refuse a count the payload cannot hold before allocating for it.
	if count > MaxLenders || count > uint64(len(d.b))/SumLen {
		d.fail(fmt.Sprintf("%d lenders, more than %d or than the payload holds", count, MaxLenders))
		return nil
	}
	ids := make([][SumLen]byte, count)
	for i := range ids {
		d.sum("lender id", &ids[i])
	}
	if d.err == nil {
		d.err = checkLenders(ids)
	}
	if d.err != nil {
		return nil
	}
	return ids
}
