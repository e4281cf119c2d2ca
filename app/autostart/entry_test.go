package autostart

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// awkward are arguments that need every kind of quoting some format has.
var awkward = [][]string{
	{"/usr/bin/dragonload"},
	{"/opt/Drag on/bin/dragonload", "--home", "/home/ann/My Stuff/dl"},
	{"/usr/bin/dragonload", "--home", `/tmp/a"b'c`},
	{"/usr/bin/dragonload", "--home", `/tmp/back\slash`, `\\two`},
	{"/usr/bin/dragonload", "--home", "/tmp/$HOME/`x`/100%/%u"},
	{"/usr/bin/dragonload", "", "a;b|c&d>e<f~g*h?i#j(k)"},
	{"/usr/bin/dragonload", "--home", "/home/zoë/下载"},
}

// TestExecLineRoundTrip: what execLine writes, read back by the Desktop
// Entry specification's rules (string escapes, then quoting, then %%),
// is the program and arguments it was given.
func TestExecLineRoundTrip(t *testing.T) {
	for _, cmd := range awkward {
		line := execLine(cmd[0], cmd[1:])
		got, err := parseExec(line)
		if err != nil {
			t.Errorf("Exec=%s: %v", line, err)
			continue
		}
		if !slices.Equal(got, cmd) {
			t.Errorf("Exec=%s reads back as %q, want %q", line, got, cmd)
		}
	}
	if got, want := execLine("/usr/bin/dragonload", []string{"--home", "/home/ann/dl"}), "/usr/bin/dragonload --home /home/ann/dl"; got != want {
		t.Errorf("plain arguments: Exec=%s, want %s", got, want)
	}
	// The specification's own example: one literal backslash in a quoted
	// argument is four in the file.
	if got, want := execLine("/bin/x", []string{`a\b`}), `/bin/x "a\\\\b"`; got != want {
		t.Errorf("backslash: Exec=%s, want %s", got, want)
	}
}

// TestWindowsCommandLineRoundTrip: the Run value, split by the argv rules
// of CommandLineToArgvW, gives back the program and arguments.
func TestWindowsCommandLineRoundTrip(t *testing.T) {
	cases := append(slices.Clone(awkward),
		[]string{`C:\Program Files\Dragonload\dragonload.exe`, "--home", `C:\Users\Ann Lee\AppData\Roaming\dragonload`},
		[]string{`C:\dl.exe`, `ends in backslash\`, `with space and \\" quote`, `C:\x\\`, `"`},
	)
	for _, cmd := range cases {
		line := commandLine(cmd[0], cmd[1:])
		if got := splitWindows(line); !slices.Equal(got, cmd) {
			t.Errorf("%s splits into %q, want %q", line, got, cmd)
		}
	}
}

// TestLaunchAgent: the property list is XML whose ProgramArguments are
// the command, escapes undone, and which runs at load under our label.
func TestLaunchAgent(t *testing.T) {
	for _, cmd := range awkward {
		data := launchAgent(cmd[0], append(cmd[1:], "<&>"))
		var plist struct {
			Dict struct {
				Keys    []string  `xml:"key"`
				Strings []string  `xml:"string"`
				Args    []string  `xml:"array>string"`
				True    *struct{} `xml:"true"`
			} `xml:"dict"`
		}
		if err := xml.Unmarshal(data, &plist); err != nil {
			t.Fatalf("not XML: %v\n%s", err, data)
		}
		d := plist.Dict
		if want := append(slices.Clone(cmd), "<&>"); !slices.Equal(d.Args, want) {
			t.Errorf("ProgramArguments %q, want %q", d.Args, want)
		}
		if !slices.Equal(d.Keys, []string{"Label", "ProgramArguments", "RunAtLoad", "ProcessType"}) || d.True == nil || len(d.Strings) == 0 || d.Strings[0] != ID {
			t.Errorf("unexpected property list:\n%s", data)
		}
	}
}

// TestEntryOn: a desktop switched the entry off by either of the two keys
// desktops use; a key in another group or another value does not count.
func TestEntryOn(t *testing.T) {
	entry := string(desktopEntry("/usr/bin/dragonload", nil))
	for text, want := range map[string]bool{
		entry:                   true,
		entry + "Hidden=true\n": false,
		strings.Replace(entry, "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false", 1): false,
		entry + "Hidden = true\n":                   false,
		entry + "Hidden=false\n":                    true,
		entry + "[Desktop Action x]\nHidden=true\n": true,
	} {
		if got := entryOn([]byte(text)); got != want {
			t.Errorf("entryOn = %v, want %v, for:\n%s", got, want, text)
		}
	}
}

// TestCheckCommand: Enable refuses what no format can carry, before it
// touches anything.
func TestCheckCommand(t *testing.T) {
	for _, cmd := range [][]string{
		{"dragonload"},
		{"bin/dragonload"},
		{"/usr/bin/dragonload", "--home", "/tmp/a\nb"},
		{"/usr/bin/dragonload", "\x00"},
		{"/usr/bin/dragonload", "\xff"},
	} {
		if err := Enable(cmd[0], cmd[1:]); err == nil {
			t.Errorf("Enable(%q) succeeded", cmd)
		}
	}
}

// parseExec reads an Exec value by the Desktop Entry specification.
func parseExec(value string) ([]string, error) {
	// String value escapes first.
	var s strings.Builder
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c != '\\' {
			s.WriteByte(c)
			continue
		}
		i++
		if i == len(value) {
			return nil, fmt.Errorf("dangling backslash")
		}
		switch value[i] {
		case 's':
			s.WriteByte(' ')
		case 'n':
			s.WriteByte('\n')
		case 't':
			s.WriteByte('\t')
		case 'r':
			s.WriteByte('\r')
		case '\\':
			s.WriteByte('\\')
		default:
			return nil, fmt.Errorf("unknown string escape \\%c", value[i])
		}
	}
	// Then the quoting rules.
	var args []string
	line := s.String()
	for i := 0; i < len(line); {
		if line[i] == ' ' {
			i++
			continue
		}
		var arg strings.Builder
		if line[i] == '"' {
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' {
					i++
					if i == len(line) || !strings.ContainsRune("\"`$\\", rune(line[i])) {
						return nil, fmt.Errorf("bad escape in quotes")
					}
				}
				arg.WriteByte(line[i])
			}
			if i == len(line) {
				return nil, fmt.Errorf("unterminated quote")
			}
			i++
			if i < len(line) && line[i] != ' ' {
				return nil, fmt.Errorf("text after a closing quote")
			}
		} else {
			for ; i < len(line) && line[i] != ' '; i++ {
				if strings.ContainsRune(execReserved, rune(line[i])) {
					return nil, fmt.Errorf("reserved %q outside quotes", line[i])
				}
				arg.WriteByte(line[i])
			}
		}
		// Field codes: a literal percent is %%; any other % code is not ours.
		a := arg.String()
		var out strings.Builder
		for j := 0; j < len(a); j++ {
			if a[j] == '%' {
				if j+1 == len(a) || a[j+1] != '%' {
					return nil, fmt.Errorf("field code %q in %q", a[j:], a)
				}
				j++
			}
			out.WriteByte(a[j])
		}
		args = append(args, out.String())
	}
	return args, nil
}

// splitWindows splits a command line as CommandLineToArgvW does: the
// program name up to the next space or between quotes, then arguments by
// the backslash and quote rules.
func splitWindows(line string) []string {
	var args []string
	i := 0
	if strings.HasPrefix(line, `"`) {
		end := strings.IndexByte(line[1:], '"')
		args = append(args, line[1:1+end])
		i = end + 2
	} else {
		end := strings.IndexAny(line, " \t")
		if end < 0 {
			return []string{line}
		}
		args = append(args, line[:end])
		i = end
	}
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) {
			return args
		}
		var arg strings.Builder
		quoted := false
		for i < len(line) && (quoted || (line[i] != ' ' && line[i] != '\t')) {
			switch line[i] {
			case '\\':
				n := 0
				for i < len(line) && line[i] == '\\' {
					n++
					i++
				}
				if i < len(line) && line[i] == '"' {
					arg.WriteString(strings.Repeat(`\`, n/2))
					if n%2 == 1 {
						arg.WriteByte('"')
						i++
					}
				} else {
					arg.WriteString(strings.Repeat(`\`, n))
				}
			case '"':
				if quoted && i+1 < len(line) && line[i+1] == '"' {
					// "" inside quotes is a literal quote (post-2008 rule).
					arg.WriteByte('"')
					i += 2
					continue
				}
				quoted = !quoted
				i++
			default:
				arg.WriteByte(line[i])
				i++
			}
		}
		args = append(args, arg.String())
	}
}
