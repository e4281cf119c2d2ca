package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/dragonload/dragonload/core/config"
)

// Theme is Fyne's default theme in Dragonload's colours: the fire orange of
// the icon for primary actions, focus and selection. Light and dark
// variants follow the desktop.
func Theme() fyne.Theme { return ThemeNamed(config.ThemeSystem) }

// ThemeNamed is Theme in the variant a user chose in Settings (the
// settings key theme): "light" and "dark" hold whatever the desktop
// prefers, "system" (and anything else) follows the desktop. Fyne has no
// switch for the variant (its FYNE_THEME is read once, at start), so the
// theme itself answers every colour in the chosen variant, whichever one
// a widget asks for; the window's own colour code passes the variant
// through the theme too, so it stays consistent.
func ThemeNamed(name string) fyne.Theme {
	b := brandTheme{Theme: theme.DefaultTheme()}
	switch name {
	case config.ThemeLight:
		b.force, b.variant = true, theme.VariantLight
	case config.ThemeDark:
		b.force, b.variant = true, theme.VariantDark
	}
	return b
}

type brandTheme struct {
	fyne.Theme
	force   bool              // answer in variant, not the one asked for
	variant fyne.ThemeVariant // the user's choice, when force
}

var brandOrange = color.NRGBA{0xe2, 0x5a, 0x2b, 0xff}

func (b brandTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if b.force {
		v = b.variant
	}
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
