// Command mark draws the Dragonload icon: three strands (the pooled links)
// that merge into one arrow landing on a bar (the finished file), white on a
// fire-coloured rounded square. The shapes are signed distance functions in
// a 512×512 design space, so every output size is rendered directly and
// anti-aliased without resampling.
//
//	go run ./internal/mark -out .
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", ".", "folder to write the PNG files into")
	flag.Parse()
	files := []struct {
		name string
		size int
	}{
		{"icon.png", 512},
		{"tray.png", 64},
	}
	for _, f := range files {
		if err := writePNG(filepath.Join(*out, f.name), render(f.size)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot create icon file: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("cannot encode %s: %w", path, err)
	}
	return f.Close()
}

const design = 512.0

var (
	fireTop    = rgb{1.00, 0.56, 0.22}
	fireBottom = rgb{0.86, 0.17, 0.25}
)

type rgb struct{ r, g, b float64 }

type vec struct{ x, y float64 }

func (a vec) sub(b vec) vec       { return vec{a.x - b.x, a.y - b.y} }
func (a vec) add(b vec) vec       { return vec{a.x + b.x, a.y + b.y} }
func (a vec) mul(s float64) vec   { return vec{a.x * s, a.y * s} }
func (a vec) dot(b vec) float64   { return a.x*b.x + a.y*b.y }
func (a vec) cross(b vec) float64 { return a.x*b.y - a.y*b.x }
func (a vec) len() float64        { return math.Hypot(a.x, a.y) }

// render draws the icon at size×size pixels.
func render(size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	scale := float64(size) / design
	strands := strandSegments()
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			p := vec{(float64(px) + 0.5) / scale, (float64(py) + 0.5) / scale}
			bgD := roundBox(p, vec{256, 256}, vec{236, 236}, 104)
			bgA := coverage(bgD, scale)
			if bgA == 0 {
				continue
			}
			t := p.y / design
			c := rgb{
				fireTop.r + (fireBottom.r-fireTop.r)*t,
				fireTop.g + (fireBottom.g-fireTop.g)*t,
				fireTop.b + (fireBottom.b-fireTop.b)*t,
			}
			// A soft shadow under the mark lifts it off the background.
			shadow := soft(markDistance(p.sub(vec{0, 10}), strands)-4, 18) * 0.22
			c = mix(c, rgb{0.35, 0.05, 0.08}, shadow)
			c = mix(c, rgb{1, 1, 1}, coverage(markDistance(p, strands), scale))
			img.SetNRGBA(px, py, color.NRGBA{
				R: uint8(math.Round(c.r * 255)),
				G: uint8(math.Round(c.g * 255)),
				B: uint8(math.Round(c.b * 255)),
				A: uint8(math.Round(bgA * 255)),
			})
		}
	}
	return img
}

// markDistance is the signed distance from p to the white mark.
func markDistance(p vec, strands [][2]vec) float64 {
	d := math.Inf(1)
	for _, s := range strands {
		d = math.Min(d, segment(p, s[0], s[1])-21)
	}
	d = math.Min(d, triangle(p, vec{142, 258}, vec{370, 258}, vec{256, 388})-12)
	d = math.Min(d, segment(p, vec{156, 440}, vec{356, 440})-19)
	return d
}

// strandSegments approximates the three strands by short straight pieces:
// the middle one straight down, the outer two quadratic curves that bend
// into the arrow's shaft.
func strandSegments() [][2]vec {
	segs := [][2]vec{{{256, 84}, {256, 290}}}
	for _, side := range []float64{-1, 1} {
		p0 := vec{256 + side*124, 92}
		p1 := vec{256 + side*112, 214}
		p2 := vec{256, 282}
		const n = 48
		prev := p0
		for i := 1; i <= n; i++ {
			t := float64(i) / n
			q := p0.mul((1 - t) * (1 - t)).add(p1.mul(2 * (1 - t) * t)).add(p2.mul(t * t))
			segs = append(segs, [2]vec{prev, q})
			prev = q
		}
	}
	return segs
}

func segment(p, a, b vec) float64 {
	pa, ba := p.sub(a), b.sub(a)
	h := math.Max(0, math.Min(1, pa.dot(ba)/ba.dot(ba)))
	return pa.sub(ba.mul(h)).len()
}

func roundBox(p, c, half vec, r float64) float64 {
	q := vec{math.Abs(p.x-c.x) - half.x + r, math.Abs(p.y-c.y) - half.y + r}
	outside := vec{math.Max(q.x, 0), math.Max(q.y, 0)}.len()
	return outside + math.Min(math.Max(q.x, q.y), 0) - r
}

// triangle is the exact signed distance to a triangle (negative inside).
func triangle(p, a, b, c vec) float64 {
	e0, e1, e2 := b.sub(a), c.sub(b), a.sub(c)
	v0, v1, v2 := p.sub(a), p.sub(b), p.sub(c)
	closest := func(v, e vec) vec {
		return v.sub(e.mul(math.Max(0, math.Min(1, v.dot(e)/e.dot(e)))))
	}
	pq0, pq1, pq2 := closest(v0, e0), closest(v1, e1), closest(v2, e2)
	s := math.Copysign(1, e0.cross(e2))
	d := math.Min(pq0.dot(pq0), math.Min(pq1.dot(pq1), pq2.dot(pq2)))
	inside := math.Min(s*v0.cross(e0), math.Min(s*v1.cross(e1), s*v2.cross(e2)))
	return -math.Sqrt(d) * math.Copysign(1, inside)
}

// coverage turns a distance in design units into pixel coverage, giving a
// one-pixel anti-aliased edge at any output size.
func coverage(d, scale float64) float64 {
	return math.Max(0, math.Min(1, 0.5-d*scale))
}

// soft is a wide smooth falloff for shadows.
func soft(d, width float64) float64 {
	t := math.Max(0, math.Min(1, 0.5-d/width))
	return t * t * (3 - 2*t)
}

func mix(a, b rgb, t float64) rgb {
	return rgb{a.r + (b.r-a.r)*t, a.g + (b.g-a.g)*t, a.b + (b.b-a.b)*t}
}
