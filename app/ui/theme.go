package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Theme is Fyne's default theme in Dragonload's colours: the fire orange of
// the icon for primary actions, focus and selection. Light and dark
// variants follow the desktop.
func Theme() fyne.Theme { return brandTheme{theme.DefaultTheme()} }

type brandTheme struct{ fyne.Theme }

var brandOrange = color.NRGBA{0xe2, 0x5a, 0x2b, 0xff}

func (b brandTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	switch n {
	case theme.ColorNamePrimary:
		return brandOrange
	case theme.ColorNameFocus:
		return color.NRGBA{brandOrange.R, brandOrange.G, brandOrange.B, 0x7f}
	case theme.ColorNameSelection:
		return color.NRGBA{brandOrange.R, brandOrange.G, brandOrange.B, 0x24}
	}
	return b.Theme.Color(n, v)
}
