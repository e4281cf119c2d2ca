package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/dragonload/dragonload/app/units"
	"github.com/dragonload/dragonload/core"
)

// barDisplay draws a bar for the whole file and one per participant,
// showing each one's share of the bytes so far.
type barDisplay struct {
	p     *mpb.Progress
	mu    sync.Mutex
	total *mpb.Bar
	peers map[string]*mpb.Bar
	last  core.DownloadProgress
	label string
	once  sync.Once
}

func newBarDisplay(out io.Writer) *barDisplay {
	d := &barDisplay{
		p:     mpb.New(mpb.WithOutput(out), mpb.WithRefreshRate(100*time.Millisecond), mpb.WithWidth(100)),
		peers: make(map[string]*mpb.Bar),
		label: "probing",
	}
	d.total = d.p.AddBar(0,
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.last.Name == "" {
				return d.label
			}
			return d.last.Name
		}, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			d.mu.Lock()
			defer d.mu.Unlock()
			return totalLine(d.last)
		})),
	)
	return d
}

func (d *barDisplay) progress(p core.DownloadProgress) {
	d.mu.Lock()
	d.last = p
	d.mu.Unlock()
	if p.Size > 0 {
		d.total.SetTotal(p.Size, false)
	}
	d.total.SetCurrent(p.Done)
	for _, s := range p.Peers {
		d.mu.Lock()
		b, ok := d.peers[s.Peer]
		if !ok {
			share := s
			b = d.p.AddBar(max(p.Size, 1),
				mpb.BarWidth(40),
				mpb.PrependDecorators(decor.Name("  "+peerLabel(share), decor.WCSyncSpaceR)),
				mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
					d.mu.Lock()
					defer d.mu.Unlock()
					for _, x := range d.last.Peers {
						if x.Peer == share.Peer {
							return fmt.Sprintf("%9s %11s  %d in flight", units.Bytes(x.Bytes), units.Rate(x.Rate), x.InFlight)
						}
					}
					return "left"
				})),
			)
			d.peers[s.Peer] = b
		}
		d.mu.Unlock()
		b.SetCurrent(s.Bytes)
	}
}

func totalLine(p core.DownloadProgress) string {
	if !p.WaitUntil.IsZero() {
		return fmt.Sprintf("%9s / %-9s %s", units.Bytes(p.Done), units.Bytes(max(p.Size, 0)), waitingText(p.WaitUntil))
	}
	if p.Size <= 0 {
		return units.Bytes(p.Done)
	}
	eta := "--"
	if p.ETA > 0 {
		eta = units.Duration(p.ETA)
	}
	return fmt.Sprintf("%9s / %-9s %11s  ETA %s", units.Bytes(p.Done), units.Bytes(p.Size), units.Rate(p.Rate), eta)
}

func peerLabel(s core.PeerShare) string {
	switch {
	case s.Peer == core.SelfPeer:
		return s.Name + " (this machine)"
	case s.Copy:
		return s.Name + " (LAN copy)"
	}
	return s.Name
}

func (d *barDisplay) state(s core.State) {
	d.mu.Lock()
	d.label = s.String()
	d.mu.Unlock()
}

func (d *barDisplay) notice(n core.Notice) {
	d.mu.Lock()
	d.label = n.Text
	d.mu.Unlock()
}

func (d *barDisplay) close() {
	d.once.Do(func() {
		d.mu.Lock()
		bars := []*mpb.Bar{d.total}
		for _, b := range d.peers {
			bars = append(bars, b)
		}
		d.mu.Unlock()
		for _, b := range bars {
			b.Abort(false)
		}
		d.p.Wait()
	})
}
