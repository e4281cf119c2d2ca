package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// thinBar is a slim progress bar: a track and a fill with rounded ends.
// Fyne's ProgressBar is as tall as a button, which crowds a list of rows;
// the percentage goes into the row's text instead.
type thinBar struct {
	widget.BaseWidget
	value float64 // 0..1
	done  bool    // finished: drawn in the success colour
}

// barHeight is the bar's thickness in Fyne units.
const barHeight = 6

func newThinBar() *thinBar {
	b := &thinBar{}
	b.ExtendBaseWidget(b)
	return b
}

func (b *thinBar) set(v float64, done bool) {
	v = max(0, min(1, v))
	if v == b.value && done == b.done {
		return
	}
	b.value, b.done = v, done
	b.Refresh()
}

// CreateRenderer implements fyne.Widget.
func (b *thinBar) CreateRenderer() fyne.WidgetRenderer {
	r := &thinBarRenderer{b: b, track: canvas.NewRectangle(nil), fill: canvas.NewRectangle(nil)}
	r.track.CornerRadius = barHeight / 2
	r.fill.CornerRadius = barHeight / 2
	r.Refresh()
	return r
}

type thinBarRenderer struct {
	b           *thinBar
	track, fill *canvas.Rectangle
}

func (r *thinBarRenderer) Layout(s fyne.Size) {
	y := (s.Height - barHeight) / 2
	r.track.Move(fyne.NewPos(0, y))
	r.track.Resize(fyne.NewSize(s.Width, barHeight))
	r.fill.Move(fyne.NewPos(0, y))
	w := float32(r.b.value) * s.Width
	if w > 0 && w < barHeight {
		w = barHeight // a sliver still reads as a started bar
	}
	r.fill.Resize(fyne.NewSize(w, barHeight))
}

func (r *thinBarRenderer) MinSize() fyne.Size { return fyne.NewSize(barHeight*4, barHeight+2) }

func (r *thinBarRenderer) Refresh() {
	th := r.b.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	r.track.FillColor = th.Color(theme.ColorNameInputBorder, v)
	if r.b.done {
		r.fill.FillColor = th.Color(theme.ColorNameSuccess, v)
	} else {
		r.fill.FillColor = th.Color(theme.ColorNamePrimary, v)
	}
	r.Layout(r.b.Size())
	r.track.Refresh()
	r.fill.Refresh()
}

func (r *thinBarRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.track, r.fill}
}

func (r *thinBarRenderer) Destroy() {}
