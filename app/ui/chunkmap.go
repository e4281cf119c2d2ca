package ui

import (
	"image"
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// ChunkMap draws a file as a grid of cells, each coloured by the peer that
// fetched most of its bytes, paler while the cell is only partly there.
// Cells stretch to fill the widget, so the whole file is always in view.
type ChunkMap struct {
	widget.BaseWidget

	size  int64
	spans []span
	// whole is set for a finished file: every byte is there, so cells no
	// span covers (fetched before a restart, by whom nobody recorded) are
	// drawn full in unknownColor.
	whole bool
}

// cellSize and cellGap are a cell's side and the space between cells, in
// Fyne units (scaled to pixels by the canvas).
const (
	cellSize = 11
	cellGap  = 2
)

// newChunkMap returns an empty chunk map.
func newChunkMap() *ChunkMap {
	c := &ChunkMap{size: -1}
	c.ExtendBaseWidget(c)
	return c
}

// set replaces what the map shows; size < 0 draws an empty grid. whole
// says the file is complete.
func (c *ChunkMap) set(size int64, spans []span, whole bool) {
	c.size, c.spans, c.whole = size, spans, whole
	c.Refresh()
}

// unknownColor is the colour of bytes whose fetcher nobody recorded.
func unknownColor(th fyne.Theme, v fyne.ThemeVariant) color.NRGBA {
	return toNRGBA(th.Color(theme.ColorNamePlaceHolder, v))
}

// CreateRenderer implements fyne.Widget.
func (c *ChunkMap) CreateRenderer() fyne.WidgetRenderer {
	r := &chunkMapRenderer{m: c}
	r.raster = canvas.NewRaster(r.draw)
	r.raster.ScaleMode = canvas.ImageScalePixels
	return r
}

type chunkMapRenderer struct {
	m      *ChunkMap
	raster *canvas.Raster
}

func (r *chunkMapRenderer) Layout(s fyne.Size) { r.raster.Resize(s) }
func (r *chunkMapRenderer) MinSize() fyne.Size {
	return fyne.NewSize(8*(cellSize+cellGap), 4*(cellSize+cellGap))
}
func (r *chunkMapRenderer) Refresh()                     { r.raster.Refresh() }
func (r *chunkMapRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.raster} }
func (r *chunkMapRenderer) Destroy()                     {}

// draw paints the grid at w×h pixels.
func (r *chunkMapRenderer) draw(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	if w <= 0 || h <= 0 {
		return img
	}
	scale := 1.0
	if width := r.m.Size().Width; width > 0 {
		scale = float64(w) / float64(width)
	}
	g := newGrid(w, h, scale)
	// Empty cells: the input border, nudged toward the text colour so the
	// grid reads on the light theme too.
	empty := mixColor(toNRGBA(theme.Color(theme.ColorNameInputBorder)), toNRGBA(theme.Color(theme.ColorNameForeground)), 0.08)
	fills := cellFills(r.m.size, r.m.spans, g.cols*g.rows)
	unknown := unknownColor(r.m.Theme(), fyne.CurrentApp().Settings().ThemeVariant())
	for i, f := range fills {
		x0, y0, x1, y1 := g.cell(i)
		c := f.shade(empty)
		if r.m.whole && r.m.size > 0 {
			switch {
			case f.color < 0:
				c = unknown
			case f.frac < 0.999:
				c = colorFor(f.color) // the rest of the cell is there too
			}
		}
		fillRect(img, x0, y0, x1, y1, c)
	}
	return img
}

// grid places cols×rows cells in w×h pixels, stretching cells so the grid
// fills the area edge to edge.
type grid struct {
	cols, rows int
	gap        int
	cw, ch     float64
}

func newGrid(w, h int, scale float64) grid {
	cell := math.Max(3, math.Round(cellSize*scale))
	gap := int(math.Max(1, math.Round(cellGap*scale)))
	cols := max(1, int((float64(w)+float64(gap))/(cell+float64(gap))))
	rows := max(1, int((float64(h)+float64(gap))/(cell+float64(gap))))
	return grid{
		cols: cols, rows: rows, gap: gap,
		cw: (float64(w) + float64(gap)) / float64(cols),
		ch: (float64(h) + float64(gap)) / float64(rows),
	}
}

// cell returns the pixel rectangle of cell i, row by row.
func (g grid) cell(i int) (x0, y0, x1, y1 int) {
	col, row := i%g.cols, i/g.cols
	x0 = int(math.Round(float64(col) * g.cw))
	y0 = int(math.Round(float64(row) * g.ch))
	x1 = int(math.Round(float64(col+1)*g.cw)) - g.gap
	y1 = int(math.Round(float64(row+1)*g.ch)) - g.gap
	return
}

// cellFill is how much of one cell has landed and whose colour it takes.
type cellFill struct {
	frac  float64 // 0..1 of the cell's bytes
	color int     // colour slot of the largest contributor; -1 when empty
}

// shade is the cell's colour: the peer's colour when whole, a mix toward
// empty while partial, so a cell that has begun is visible at once.
func (f cellFill) shade(empty color.NRGBA) color.NRGBA {
	if f.frac <= 0 || f.color < 0 {
		return empty
	}
	c := colorFor(f.color)
	if f.frac >= 0.999 {
		return c
	}
	return mixColor(empty, c, 0.35+0.5*f.frac)
}

// cellFills spreads the landed spans of a file of the given size over n
// cells of equal byte length. It runs in O(n + spans + cells touched).
func cellFills(size int64, spans []span, n int) []cellFill {
	fills := make([]cellFill, n)
	best := make([]float64, n)
	for i := range fills {
		fills[i].color = -1
	}
	if size <= 0 || n <= 0 {
		return fills
	}
	per := float64(size) / float64(n)
	for _, s := range spans {
		a := float64(max(0, s.off))
		b := math.Min(float64(s.off+s.n), float64(size))
		if b <= a {
			continue
		}
		first := int(a / per)
		last := min(n-1, int(math.Ceil(b/per))-1)
		for i := first; i <= last; i++ {
			lo := math.Max(a, float64(i)*per)
			hi := math.Min(b, float64(i+1)*per)
			if hi <= lo {
				continue
			}
			part := (hi - lo) / per
			fills[i].frac = math.Min(1, fills[i].frac+part)
			if part > best[i] {
				best[i], fills[i].color = part, s.color
			}
		}
	}
	return fills
}

func fillRect(img *image.NRGBA, x0, y0, x1, y1 int, c color.NRGBA) {
	r := image.Rect(x0, y0, x1, y1).Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		off := img.PixOffset(r.Min.X, y)
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Pix[off], img.Pix[off+1], img.Pix[off+2], img.Pix[off+3] = c.R, c.G, c.B, c.A
			off += 4
		}
	}
}

func toNRGBA(c color.Color) color.NRGBA {
	return color.NRGBAModel.Convert(c).(color.NRGBA)
}

func mixColor(a, b color.NRGBA, t float64) color.NRGBA {
	l := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + (float64(y)-float64(x))*t)) }
	return color.NRGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), l(a.A, b.A)}
}

// over composites fg (with its alpha) onto an opaque bg.
func over(bg, fg color.NRGBA) color.NRGBA {
	a := float64(fg.A) / 255
	m := func(b, f uint8) uint8 { return uint8(math.Round(float64(b)*(1-a) + float64(f)*a)) }
	return color.NRGBA{m(bg.R, fg.R), m(bg.G, fg.G), m(bg.B, fg.B), 0xff}
}

// luminance is a colour's relative luminance (WCAG 2).
func luminance(c color.NRGBA) float64 {
	ch := func(v uint8) float64 {
		x := float64(v) / 255
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
}

// contrast is the WCAG 2 contrast ratio of two opaque colours, 1 to 21.
func contrast(a, b color.NRGBA) float64 {
	x, y := luminance(a)+0.05, luminance(b)+0.05
	if x < y {
		x, y = y, x
	}
	return x / y
}

// minContrast is what text needs against its background (WCAG AA).
const minContrast = 4.5

// readable returns c, or c moved toward black (on light surfaces) or
// white (on dark ones) just enough that it reads on every surface: theme
// colours such as the success green or the warning orange are too pale
// for text on the light theme.
func readable(c color.NRGBA, surfaces ...color.NRGBA) color.NRGBA {
	if len(surfaces) == 0 {
		return c
	}
	ink := color.NRGBA{0, 0, 0, 0xff}
	if luminance(surfaces[0]) < 0.18 {
		ink = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	}
	c.A = 0xff
	worst := func(c color.NRGBA) float64 {
		r := 21.0
		for _, s := range surfaces {
			r = math.Min(r, contrast(c, s))
		}
		return r
	}
	for t := 0.0; t <= 1; t += 0.05 {
		if m := mixColor(c, ink, t); worst(m) >= minContrast {
			return m
		}
	}
	return ink
}
