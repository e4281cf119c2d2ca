// Package windows carries the Windows resources of dragonload.exe: its icon,
// its application manifest (per-monitor DPI awareness, no elevation) and its
// version information.
//
// They are compiled from dragonload.rc into rsrc_windows_amd64.syso, which
// is committed: the Go toolchain links every .syso of a package into a
// windows/amd64 binary, so a plain `go build` (no resource compiler) embeds
// them once main imports this package (main_windows.go does). Regenerate
// the .syso and icon.ico after changing ../icon.png, the manifest, the .rc
// or the version in FyneApp.toml: `make winres` (needs mingw's windres and
// ImageMagick). Other platforms and architectures get an empty package.
package windows
