package store

import "fmt"

// ReadAt reads back bytes of the partial file, for the transfer's spot
// checks and audits, which compare what lenders sent with the origin's
// bytes. Like WriteAt it takes no lock.
func (p *Partial) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || (!p.unknownSize() && (off > p.meta.Size || int64(len(b)) > p.meta.Size-off)) {
		return 0, fmt.Errorf("cannot read %d bytes at %d of %s: the file is %d bytes", len(b), off, p.name, p.meta.Size)
	}
	n, err := p.f.ReadAt(b, off)
	if err != nil {
		return n, fmt.Errorf("cannot read back %s: %w", p.dataPath, err)
	}
	return n, nil
}
