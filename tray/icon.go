package tray

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"

	"fyne.io/fyne/v2"
)

// BarSteps is how many steps the progress bar on the busy tray icon has.
// Every new icon goes over D-Bus whole (16 kB for 64×64), so the bar
// moves in eighths rather than with every percent.
const BarSteps = 8

// idleStep is the step of the plain icon, shown while no download runs.
const idleStep = -1

// busyIcons draws and keeps the busy variants of the tray icon: the icon
// with a bar along its bottom edge, empty (step 0, also for a progress
// not known yet) to full (step BarSteps).
type busyIcons struct {
	base  fyne.Resource
	img   *image.NRGBA
	cache map[int]fyne.Resource
}

func newBusyIcons(base fyne.Resource) (*busyIcons, error) {
	src, _, err := image.Decode(bytes.NewReader(base.Content()))
	if err != nil {
		return nil, fmt.Errorf("cannot read the tray icon %s: %w", base.Name(), err)
	}
	img := image.NewNRGBA(src.Bounds())
	draw.Draw(img, img.Bounds(), src, src.Bounds().Min, draw.Src)
	return &busyIcons{base: base, img: img, cache: make(map[int]fyne.Resource)}, nil
}

// step is the bar step that shows frac (0..1) done; a fraction not known
// (negative) is step 0, an empty bar that still says "busy".
func (b *busyIcons) step(frac float64) int {
	if frac < 0 || math.IsNaN(frac) {
		return 0
	}
	return min(BarSteps, int(math.Floor(frac*BarSteps)))
}

// icon returns the icon for step: the plain one for idleStep.
func (b *busyIcons) icon(step int) fyne.Resource {
	if step == idleStep {
		return b.base
	}
	if r, ok := b.cache[step]; ok {
		return r
	}
	img := image.NewNRGBA(b.img.Bounds())
	copy(img.Pix, b.img.Pix)
	r := img.Bounds()
	// A bar a sixth of the icon high, inset by its own height: still two
	// or three pixels on a 22-pixel panel. A dark track so the bar reads
	// on the icon's light and dark parts alike, and a white fill.
	h := max(2, r.Dy()/6)
	bar := image.Rect(r.Min.X+h/2, r.Max.Y-h-h/2, r.Max.X-h/2, r.Max.Y-h/2)
	draw.Draw(img, bar, image.NewUniform(color.NRGBA{0x20, 0x20, 0x20, 0xe0}), image.Point{}, draw.Over)
	inner := bar.Inset(max(1, h/6))
	fill := inner
	fill.Max.X = inner.Min.X + inner.Dx()*step/BarSteps
	draw.Draw(img, fill, image.NewUniform(color.White), image.Point{}, draw.Src)
	var out bytes.Buffer
	if err := png.Encode(&out, img); err != nil {
		return b.base // cannot happen for an in-memory image
	}
	res := fyne.NewStaticResource(fmt.Sprintf("dragonload-tray-busy-%d.png", step), out.Bytes())
	b.cache[step] = res
	return res
}
