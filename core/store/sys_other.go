//go:build !linux

package store

// lock does nothing where flock is not used; one process per partial file
// is then up to the caller.
func (f osFile) lock() error { return nil }

// allocate sets the length; space is not reserved in advance here.
func (f osFile) allocate(n int64) error {
	have, err := f.size()
	if err != nil {
		return err
	}
	if have >= n {
		return nil
	}
	return f.Truncate(n)
}

func (f osFile) datasync() error { return f.Sync() }
