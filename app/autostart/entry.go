package autostart

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// desktopEntry is the autostart Desktop Entry that runs exe with args.
func desktopEntry(exe string, args []string) []byte {
	var b strings.Builder
	b.WriteString("[Desktop Entry]\n")
	b.WriteString("Type=Application\n")
	b.WriteString("Name=" + Name + "\n")
	b.WriteString("Comment=Pools the internet links of this network's machines for downloads\n")
	b.WriteString("Exec=" + execLine(exe, args) + "\n")
	b.WriteString("Icon=" + ID + "\n")
	b.WriteString("Terminal=false\n")
	b.WriteString("X-GNOME-Autostart-enabled=true\n")
	return []byte(b.String())
}

// execLine writes the value of a desktop entry's Exec key. The
// specification quotes an argument holding a reserved character in double
// quotes, with ", `, $ and \ escaped by a backslash inside; a literal % is
// %% (field codes start with %). The value is then a string value, whose
// own escapes apply on top: each backslash doubles again, so one literal
// backslash inside quotes is written as four.
func execLine(exe string, args []string) string {
	parts := make([]string, 0, 1+len(args))
	for _, a := range append([]string{exe}, args...) {
		parts = append(parts, execQuote(a))
	}
	return strings.ReplaceAll(strings.Join(parts, " "), `\`, `\\`)
}

// execReserved are the characters that make an Exec argument need quotes.
const execReserved = " \t\n\"'\\><~|&;$*?#()`"

func execQuote(arg string) string {
	arg = strings.ReplaceAll(arg, "%", "%%")
	if arg != "" && !strings.ContainsAny(arg, execReserved) {
		return arg
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range arg {
		switch r {
		case '"', '`', '$', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// entryOn reports whether a desktop entry's [Desktop Entry] group leaves
// it switched on: desktops switch an autostart entry off with Hidden=true
// (the specification) or X-GNOME-Autostart-enabled=false (GNOME, and
// others that copy it).
func entryOn(data []byte) bool {
	group := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			group = line
			continue
		}
		if group != "[Desktop Entry]" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case key == "Hidden" && value == "true":
			return false
		case key == "X-GNOME-Autostart-enabled" && value == "false":
			return false
		}
	}
	return true
}

// launchAgent is the launchd property list that runs exe with args at
// login. launchd passes ProgramArguments to the program as they are, so
// each needs only XML's escapes.
func launchAgent(exe string, args []string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + ID + `</string>
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range append([]string{exe}, args...) {
		b.WriteString("\t\t<string>")
		xml.EscapeText(&b, []byte(a)) // cannot fail on a bytes.Buffer
		b.WriteString("</string>\n")
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`)
	return b.Bytes()
}

// commandLine is a Windows command line that runs exe with args, as
// CommandLineToArgvW (and so Go's os.Args) splits it. The program name is
// always quoted (it is read up to the next quote, without escapes, and a
// Windows path cannot hold one); each argument follows the argv rules.
func commandLine(exe string, args []string) string {
	parts := []string{`"` + exe + `"`}
	for _, a := range args {
		parts = append(parts, windowsArg(a))
	}
	return strings.Join(parts, " ")
}

// windowsArg quotes one argument by the argv rules: backslashes are
// literal except before a quote, where 2n backslashes and a quote are n
// backslashes and the quote's toggle, and 2n+1 are n backslashes and a
// literal quote. It is syscall.EscapeArg, which only Windows builds have.
func windowsArg(s string) string {
	if s == "" {
		return `""`
	}
	if !strings.ContainsAny(s, " \t\"\\") {
		return s
	}
	quote := strings.ContainsAny(s, " \t")
	var b strings.Builder
	if quote {
		b.WriteByte('"')
	}
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			// The backslashes before a quote double, and the quote gets its own.
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	if quote {
		// Backslashes before the closing quote double too.
		b.WriteString(strings.Repeat(`\`, slashes))
		b.WriteByte('"')
	}
	return b.String()
}
