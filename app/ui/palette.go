package ui

import (
	"image/color"
	"sort"

	"github.com/dragonload/dragonload/core"
)

// peerColors tell the peers of one download apart in the chunk map and its
// legend. This machine is always the first colour; other peers take the
// rest in the order they first delivered a chunk. The hues are spread far
// apart and are mid-lightness, so they read on the light and dark themes.
var peerColors = []color.NRGBA{
	{0x3d, 0x7d, 0xd8, 0xff}, // blue: this machine
	{0xee, 0x7a, 0x30, 0xff}, // orange
	{0x1d, 0xa8, 0x7a, 0xff}, // green
	{0x95, 0x5f, 0xd0, 0xff}, // purple
	{0xe0, 0x48, 0x7c, 0xff}, // pink
	{0x17, 0xa2, 0xb8, 0xff}, // teal
	{0xc9, 0xa0, 0x12, 0xff}, // amber
	{0x8a, 0x6a, 0x4f, 0xff}, // brown
	{0x6b, 0x86, 0x99, 0xff}, // slate
}

// colorFor returns the colour of the peer with index i in a download.
func colorFor(i int) color.NRGBA {
	if i < 0 {
		return peerColors[len(peerColors)-1]
	}
	if i < len(peerColors) {
		return peerColors[i]
	}
	// Past the palette, reuse the peer colours (not this machine's).
	return peerColors[1+(i-1)%(len(peerColors)-1)]
}

// peerIndex hands out colour slots: core.SelfPeer is 0, others from 1 in
// order of first appearance.
type peerIndex struct {
	order map[string]int
	next  int
	self  bool
}

func (p *peerIndex) of(peer string) int {
	if peer == core.SelfPeer {
		p.self = true
		return 0
	}
	if p.order == nil {
		p.order = make(map[string]int)
	}
	if i, ok := p.order[peer]; ok {
		return i
	}
	if p.next == 0 {
		p.next = 1
	}
	p.order[peer] = p.next
	p.next++
	return p.order[peer]
}

// peers lists the peers that have a colour slot, in slot order. This
// machine is listed once it has one (see of).
func (p *peerIndex) peers() []string {
	out := make([]string, 0, len(p.order)+1)
	if p.self {
		out = append(out, core.SelfPeer)
	}
	rest := make([]string, 0, len(p.order))
	for peer := range p.order {
		rest = append(rest, peer)
	}
	sort.Slice(rest, func(i, j int) bool { return p.order[rest[i]] < p.order[rest[j]] })
	return append(out, rest...)
}
