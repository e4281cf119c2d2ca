package core

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dragonload/dragonload/core/span"
	"github.com/dragonload/dragonload/core/store"
	"github.com/dragonload/dragonload/core/transfer"
)

// verifyAndBlame checks a finished transfer's file against the link's
// SHA-256 before it is put in place. When the file fails and lenders
// delivered part of it, the wrong bytes are not simply deleted: each
// lender's bytes are fetched again from the origin by this node and
// compared (transfer.Audit), the lenders whose bytes differ are named and
// banned, their bytes are rewritten with the origin's, and the file is
// checked again. Only a file that still fails (the origin itself serves
// other bytes than the link's hash) fails the download. It costs a second
// fetch of the lenders' share, and only when the hash failed.
func (d *download) verifyAndBlame(ctx context.Context, p *store.Partial, tr *transfer.Transfer, me transfer.Source, rep *reporter) error {
	err := p.Verify()
	if !errors.Is(err, store.ErrChecksum) {
		return err
	}
	delivered := tr.Delivered()
	if len(delivered) == 0 {
		return err // this node fetched every byte itself: nobody else to blame
	}
	d.e.log.Warn("the file failed its SHA-256; checking the lenders' bytes against the origin", "id", d.id, "lenders", len(delivered))
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range delivered {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		differ, aerr := transfer.Audit(ctx, me, tr.Pin(), p, delivered[id])
		if len(differ) > 0 {
			if cerr := p.Commit(differ); cerr != nil && aerr == nil {
				aerr = cerr
			}
			rep.Banned(id, tr.SourceName(id), fmt.Sprintf("sent %d bytes that differ from the origin's (the file failed its SHA-256)", spanBytes(differ)))
		}
		if aerr != nil {
			return fmt.Errorf("the file failed its SHA-256, and checking the lenders' bytes failed too: %w", aerr)
		}
	}
	if err := p.Verify(); err != nil {
		return err
	}
	d.notify(fmt.Sprintf("%s: the bytes that differed were fetched again from the origin; the file now matches its SHA-256.", d.displayName()))
	return nil
}

func spanBytes(rs []span.Range) int64 {
	var n int64
	for _, r := range rs {
		n += r.Len()
	}
	return n
}
