package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/app/units"
	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/config"
	"github.com/dragonload/dragonload/quicwire"
)

// RPCSwitch is the app's aria2 JSON-RPC server (package app/rpc) as the
// Settings pane drives it. The app implements it: this package does not
// start servers.
type RPCSwitch interface {
	// Enabled reports whether it serves now.
	Enabled() bool
	// SetEnabled starts or stops serving, and remembers the choice.
	SetEnabled(on bool) error
	// Addr is where it serves, or would: "127.0.0.1:6800".
	Addr() string
	// Secret is the token clients must send; it is made on first use.
	Secret() (string, error)
}

// LoginItem is the entry that starts Dragonload when the user logs in
// (package app/autostart).
type LoginItem interface {
	Enabled() (bool, error)
	SetEnabled(on bool) error
}

// Bounds of the parallel-downloads field and of the sharing days (ten
// years: enough for anyone, and far from overflowing a time.Duration).
const (
	maxParallel  = 99
	maxShareDays = 3650
)

// settingsPane is the Settings tab: the room, this machine, downloads,
// lending, the browser integration and the theme.
type settingsPane struct {
	u       *UI
	content fyne.CanvasObject

	room     *widget.Label
	command  *widget.Label
	name     *entry
	nameSave *widget.Button
	nameNote *widget.Label
	listen   *widget.Label
	node     *widget.Label
	login    *widget.Check // nil without Options.Autostart
	logNote  *widget.Label
	outDir   *widget.Label
	watchDir *widget.Label
	unwatch  *widget.Button
	parallel *entry
	rate     *entry
	dlApply  *widget.Button // applies parallel and rate
	rateNote *widget.Label
	private  *widget.Check
	privNote *widget.Label
	askLinks *widget.Check
	checks   *widget.Check
	lend     *widget.Check
	cap      *entry
	capNote  *widget.Label
	share    *widget.Check
	days     *entry
	daysNote *widget.Label
	rpc      *widget.Check // nil without Options.RPC
	rpcAddr  *widget.Label
	secret   *widget.Label
	reveal   *widget.Button
	copyKey  *widget.Button
	shown    bool // the secret is shown in plain text
	theme    *widget.RadioGroup
	themeErr *widget.Label

	// quiet is set while the pane shows a value itself, so that the
	// change handlers do not send it back.
	quiet bool
}

// Theme choices as the radio group shows them, in order, and their
// settings values.
var themeChoices = []struct{ label, name string }{
	{"System", config.ThemeSystem},
	{"Light", config.ThemeLight},
	{"Dark", config.ThemeDark},
}

func newSettingsPane(u *UI) *settingsPane {
	s := &settingsPane{u: u}

	s.room = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	s.room.SizeName = theme.SizeNameSubHeadingText
	s.room.Selectable = true
	s.command = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	s.command.Selectable = true
	room := section("Room", "Machines with the same room code pool their internet links. Keep the code private.",
		container.NewBorder(nil, nil, nil, container.NewHBox(
			widget.NewButtonWithIcon("Copy code", theme.ContentCopyIcon(), func() { s.copy(u.eng.RoomCode()) }),
			widget.NewButtonWithIcon("New room", theme.ViewRefreshIcon(), s.newRoom),
			widget.NewButtonWithIcon("Join a room…", theme.LoginIcon(), s.joinRoom),
		), s.room),
		caption("To add another machine, run this on it and type the room code when asked:"),
		container.NewBorder(nil, nil, nil,
			widget.NewButtonWithIcon("Copy command", theme.ContentCopyIcon(), func() { s.copy(joinCommand) }),
			s.command),
	)

	s.name = u.newEntry()
	s.name.OnSubmitted = func(string) { s.applyName() }
	s.nameSave = widget.NewButton("Save", s.applyName)
	s.nameNote = note()
	s.listen = widget.NewLabel("")
	s.listen.Selectable = true
	s.node = caption("")
	s.node.Selectable = true
	machine := []fyne.CanvasObject{
		widget.NewForm(widget.NewFormItem("Name", container.NewBorder(nil, nil, nil, s.nameSave, s.name))),
		s.nameNote, s.listen, s.node,
	}
	if u.opts.Autostart != nil {
		s.login = widget.NewCheck("Start Dragonload when I log in", s.setLogin)
		s.logNote = note()
		machine = append(machine, s.login, s.logNote)
	}
	thisMachine := section("This machine", "The room's other machines see it by this name.", machine...)

	s.outDir = widget.NewLabel("")
	s.outDir.Truncation = fyne.TextTruncateEllipsis
	s.watchDir = widget.NewLabel("")
	s.watchDir.Truncation = fyne.TextTruncateEllipsis
	s.unwatch = widget.NewButton("Stop watching", func() { s.setDir(u.eng.SetWatchDir, "") })
	s.parallel = u.newEntry()
	s.parallel.OnSubmitted = func(string) { s.applyDownloads() }
	s.rate = u.newEntry()
	s.rate.SetPlaceHolder("no limit")
	s.rate.OnSubmitted = func(string) { s.applyDownloads() }
	s.dlApply = widget.NewButton("Apply", s.applyDownloads)
	s.rateNote = note()
	s.private = widget.NewCheck("Allow downloads from this LAN and this machine (loopback/private addresses)", s.setPrivate)
	s.privNote = caption("")
	s.askLinks = widget.NewCheck("Ask before downloading a dragon:// link or .dragon file opened from another program", func(on bool) {
		if !s.quiet {
			u.eng.SetAskOpenedLinks(on)
		}
	})
	s.checks = widget.NewCheck("Check a slice of every lender's bytes against the origin (spot checks; about 0.5 % more download)", func(on bool) {
		if !s.quiet {
			u.eng.SetSpotChecks(on)
		}
	})
	numberWidth := fyne.NewSize(110, s.rate.MinSize().Height)
	downloads := section("Downloads", "A .dragon file saved into the watched folder starts downloading by itself.",
		widget.NewForm(
			widget.NewFormItem("Save downloads in", container.NewBorder(nil, nil, nil,
				widget.NewButtonWithIcon("Change…", theme.FolderOpenIcon(), func() { s.chooseDir(u.eng.SetOutDir) }),
				s.outDir)),
			widget.NewFormItem("Watched folder", container.NewBorder(nil, nil, nil,
				container.NewHBox(
					widget.NewButtonWithIcon("Change…", theme.FolderOpenIcon(), func() { s.chooseDir(u.eng.SetWatchDir) }),
					s.unwatch),
				s.watchDir)),
			widget.NewFormItem("At most", container.NewHBox(
				container.NewGridWrap(numberWidth, s.parallel), widget.NewLabel("downloads at once"))),
			widget.NewFormItem("Speed limit", container.NewHBox(
				container.NewGridWrap(numberWidth, s.rate), widget.NewLabel("MB/s, all downloads together"),
				s.dlApply)),
		),
		s.rateNote,
		s.private, s.privNote,
		s.askLinks,
		s.checks,
	)

	s.lend = widget.NewCheck("Lend this machine's internet link to the room", func(on bool) {
		if !s.quiet {
			u.eng.SetLending(on)
		}
	})
	s.cap = u.newEntry()
	s.cap.SetPlaceHolder("no cap")
	s.cap.OnSubmitted = func(string) { s.applyCap() }
	s.capNote = caption("")
	s.capNote.Wrapping = fyne.TextWrapOff
	s.share = widget.NewCheck("Share my finished downloads with the room", s.setShare)
	s.days = u.newEntry()
	s.days.OnSubmitted = func(string) { s.applyDays() }
	s.daysNote = caption("")
	s.daysNote.Wrapping = fyne.TextWrapOff
	lending := section("Lending", "While lending, room peers may ask this machine to fetch parts of their downloads.",
		s.lend,
		container.NewHBox(widget.NewLabel("Lend at most"), container.NewGridWrap(numberWidth, s.cap), widget.NewLabel("MB/s"),
			widget.NewButton("Apply", s.applyCap), s.capNote),
		s.share,
		container.NewHBox(widget.NewLabel("for"), container.NewGridWrap(numberWidth, s.days), widget.NewLabel("days after each finished"),
			widget.NewButton("Apply", s.applyDays), s.daysNote),
		caption(shareAbout),
	)

	parts := []fyne.CanvasObject{room, widget.NewSeparator(), thisMachine, widget.NewSeparator(),
		downloads, widget.NewSeparator(), lending}
	if u.opts.RPC != nil {
		parts = append(parts, widget.NewSeparator(), s.newRPCSection())
	}
	s.theme = widget.NewRadioGroup(nil, s.setTheme)
	for _, c := range themeChoices {
		s.theme.Options = append(s.theme.Options, c.label)
	}
	s.theme.Horizontal = true
	s.theme.Required = true
	s.themeErr = note()
	parts = append(parts, widget.NewSeparator(),
		section("Appearance", "The window's colours; System follows the desktop's light or dark setting.", s.theme, s.themeErr))

	s.content = container.NewVScroll(container.NewPadded(container.NewVBox(parts...)))
	s.reload()
	return s
}

// newRPCSection is the browser integration: the switch, where it serves
// and the secret a browser extension needs.
func (s *settingsPane) newRPCSection() fyne.CanvasObject {
	s.rpc = widget.NewCheck("Let browser extensions send downloads to Dragonload (aria2 JSON-RPC)", s.setRPC)
	s.rpcAddr = caption("")
	s.rpcAddr.Selectable = true
	s.secret = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	s.secret.Selectable = true
	s.reveal = widget.NewButtonWithIcon("Show", theme.VisibilityIcon(), func() {
		s.shown = !s.shown
		s.showSecret()
	})
	s.copyKey = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), s.copySecret)
	return section("Browser integration", "Extensions made for aria2 (such as Aria2 Explorer) hand their downloads to Dragonload. Only programs on this machine can connect, and only with the secret.",
		s.rpc, s.rpcAddr,
		container.NewBorder(nil, nil, widget.NewLabel("Secret"), container.NewHBox(s.reveal, s.copyKey), s.secret),
	)
}

// reload reads every setting from the engine and the app.
func (s *settingsPane) reload() {
	s.quiet = true
	defer func() { s.quiet = false }()
	eng := s.u.eng
	code := eng.RoomCode()
	s.room.SetText(code)
	s.command.SetText(joinCommand)

	s.name.SetText(eng.Name())
	s.listen.SetText("Listening for the room on UDP " + eng.Addr())
	s.node.SetText("Node id " + eng.NodeID())
	if s.login != nil {
		on, err := s.u.opts.Autostart.Enabled()
		if err != nil {
			s.fail(s.logNote, "Cannot tell whether Dragonload starts at login: "+err.Error())
		}
		s.login.SetChecked(on)
	}

	s.outDir.SetText(eng.OutDir())
	if w := eng.WatchDir(); w != "" {
		s.watchDir.SetText(w)
		s.unwatch.Enable()
	} else {
		s.watchDir.SetText("Not watching a folder")
		s.unwatch.Disable()
	}
	l := eng.Limits()
	s.parallel.SetText(strconv.Itoa(l.MaxDownloads))
	s.rate.SetText(megabytes(l.DownloadRate))
	s.ok(s.rateNote, "Leave the limit empty to download as fast as the links allow.")
	s.private.SetChecked(eng.AllowPrivate())
	s.privNote.SetText(privateRisk)
	s.quiet = true
	s.askLinks.SetChecked(eng.AskOpenedLinks())
	s.checks.SetChecked(eng.SpotChecks())
	s.quiet = false

	s.cap.SetText(megabytes(l.LendRate))
	s.ok(s.capNote, "Leave empty for no cap.")
	s.refreshLending()
	s.quiet = true
	s.share.SetChecked(eng.SharesFinished())
	s.quiet = false
	s.days.SetText(strconv.Itoa(eng.ShareDays()))
	s.daysNote.SetText("")

	if s.rpc != nil {
		s.rpc.SetChecked(s.u.opts.RPC.Enabled())
		s.showRPC()
	}
	cur := eng.Theme()
	for _, c := range themeChoices {
		if c.name == cur {
			s.theme.SetSelected(c.label)
		}
	}
	if s.theme.Selected == "" {
		s.theme.SetSelected(themeChoices[0].label)
	}
}

// privateRisk is the caption under the private-origins switch: the one
// line on what turning it on risks.
const privateRisk = "For a NAS or a mirror on your network. The risk: a link you open could make this machine fetch from devices on your network. Room peers still cannot."

// shareAbout is the line under the sharing switch.
const shareAbout = "Sharing needs lending on. Room members then copy these files over the LAN instead of downloading them again."

// refreshLending shows the engine's lend switch without echoing it back.
func (s *settingsPane) refreshLending() {
	on := s.u.m.lending
	if s.lend.Checked == on {
		return
	}
	was := s.quiet
	s.quiet = true
	s.lend.SetChecked(on)
	s.quiet = was
}

func (s *settingsPane) applyName() {
	name := strings.TrimSpace(s.name.Text)
	if err := s.u.eng.SetName(name); err != nil {
		s.fail(s.nameNote, "Cannot use that name: "+err.Error())
		return
	}
	s.name.SetText(s.u.eng.Name())
	s.ok(s.nameNote, "The room's machines now see this one as "+s.u.eng.Name()+".")
}

// applyDownloads sends the parallel-downloads count and the download
// speed limit to the engine; neither changes unless both are valid.
func (s *settingsPane) applyDownloads() {
	n, err := strconv.Atoi(strings.TrimSpace(s.parallel.Text))
	if err != nil || n < 1 || n > maxParallel {
		s.fail(s.rateNote, fmt.Sprintf("Type how many downloads may run at once: a whole number from 1 to %d.", maxParallel))
		return
	}
	rate, err := parseRate(s.rate.Text)
	if err == nil && rate > 0 && rate < core.MinDownloadRate {
		err = fmt.Errorf("the lowest speed limit is %s; leave it empty for none", units.Rate(core.MinDownloadRate))
	}
	if err != nil {
		s.fail(s.rateNote, "Speed limit: "+err.Error()+".")
		return
	}
	l := s.u.eng.Limits()
	l.MaxDownloads = n
	l.DownloadRate = rate
	if rate == 0 {
		l.DownloadRate = core.NoRateCap
	}
	s.u.eng.SetLimits(l)
	msg := fmt.Sprintf("At most %d at once, ", n)
	if rate == 0 {
		msg += "without a speed limit."
	} else {
		msg += "at most " + units.Rate(float64(rate)) + " together."
	}
	s.ok(s.rateNote, msg)
}

func (s *settingsPane) setPrivate(on bool) {
	if s.quiet {
		return
	}
	s.u.eng.SetAllowPrivate(on)
	if now := s.u.eng.AllowPrivate(); now != on {
		// Only --allow-private-origins holds it on against the setting.
		s.quiet = true
		s.private.SetChecked(now)
		s.quiet = false
		s.privNote.SetText("Dragonload was started with --allow-private-origins, so these addresses stay allowed until it restarts. " + privateRisk)
		return
	}
	s.privNote.SetText(privateRisk)
}

func (s *settingsPane) applyCap() {
	rate, err := parseRate(s.cap.Text)
	if err != nil {
		s.fail(s.capNote, err.Error())
		return
	}
	l := s.u.eng.Limits()
	l.LendRate = rate
	if rate == 0 {
		// Zero would mean "unchanged" to SetLimits.
		l.LendRate = core.NoRateCap
	}
	s.u.eng.SetLimits(l)
	if rate == 0 {
		s.ok(s.capNote, "Lending without a cap.")
	} else {
		s.ok(s.capNote, "Lending at most "+units.Rate(float64(rate))+".")
	}
}

func (s *settingsPane) setShare(on bool) {
	if s.quiet {
		return
	}
	s.u.eng.SetSharesFinished(on)
	s.u.shared.refresh()
}

// applyDays sends how many days a finished download stays shared.
func (s *settingsPane) applyDays() {
	n, err := strconv.Atoi(strings.TrimSpace(s.days.Text))
	if err != nil || n < 1 || n > maxShareDays {
		s.fail(s.daysNote, fmt.Sprintf("Type a whole number of days from 1 to %d.", maxShareDays))
		return
	}
	s.u.eng.SetShareDays(n)
	s.days.SetText(strconv.Itoa(s.u.eng.ShareDays()))
	s.ok(s.daysNote, "Each finished download is shared for "+plural(s.u.eng.ShareDays(), "day", "days")+".")
	s.u.shared.refresh()
}

func (s *settingsPane) setLogin(on bool) {
	if s.quiet {
		return
	}
	if err := s.u.opts.Autostart.SetEnabled(on); err != nil {
		s.undo(s.login, on)
		s.fail(s.logNote, "Cannot change the start at login: "+err.Error())
		return
	}
	if on {
		s.ok(s.logNote, "Dragonload starts when you log in.")
	} else {
		s.ok(s.logNote, "Dragonload no longer starts when you log in.")
	}
}

func (s *settingsPane) setRPC(on bool) {
	if s.quiet {
		return
	}
	if err := s.u.opts.RPC.SetEnabled(on); err != nil {
		s.undo(s.rpc, on)
		s.showRPC()
		s.fail(s.rpcAddr, "Cannot change the browser integration: "+err.Error())
		return
	}
	s.showRPC()
}

// showRPC says where the RPC serves and shows the secret as chosen.
func (s *settingsPane) showRPC() {
	url := "http://" + s.u.opts.RPC.Addr() + "/jsonrpc"
	if s.u.opts.RPC.Enabled() {
		s.ok(s.rpcAddr, "Serving at "+url+". Give extensions that address and the secret below.")
	} else {
		s.ok(s.rpcAddr, "Off. When on, it serves at "+url+".")
	}
	s.showSecret()
}

// showSecret shows the secret masked, or plain once Show was pressed. The
// masked form does not read it: a secret is made on first use, and
// looking at Settings is not a use.
func (s *settingsPane) showSecret() {
	text := strings.Repeat("•", 16)
	if s.shown {
		if secret, err := s.u.opts.RPC.Secret(); err != nil {
			text = "unavailable: " + err.Error()
		} else {
			text = secret
		}
	}
	s.secret.SetText(text)
	if s.shown {
		s.reveal.SetText("Hide")
		s.reveal.SetIcon(theme.VisibilityOffIcon())
	} else {
		s.reveal.SetText("Show")
		s.reveal.SetIcon(theme.VisibilityIcon())
	}
}

func (s *settingsPane) copySecret() {
	secret, err := s.u.opts.RPC.Secret()
	if err != nil {
		s.u.showError("Cannot read the RPC secret", err)
		return
	}
	s.copy(secret)
}

func (s *settingsPane) setTheme(label string) {
	if s.quiet {
		return
	}
	name := config.ThemeSystem
	for _, c := range themeChoices {
		if c.label == label {
			name = c.name
		}
	}
	if err := s.u.eng.SetTheme(name); err != nil {
		s.fail(s.themeErr, "Cannot save the theme: "+err.Error())
	}
	// Shown at once either way: it is only a look.
	s.u.app.Settings().SetTheme(ThemeNamed(name))
}

func (s *settingsPane) copy(text string) {
	s.u.app.Clipboard().SetContent(text)
	s.u.notice.Importance = widget.LowImportance
	s.u.notice.SetText("Copied to the clipboard.")
}

// undo puts a check back after its change failed, without a second call.
func (s *settingsPane) undo(c *widget.Check, tried bool) {
	s.quiet = true
	c.SetChecked(!tried)
	s.quiet = false
}

// ok and fail show the outcome of a change under its field.
func (s *settingsPane) ok(l *widget.Label, text string) {
	l.Importance = widget.LowImportance
	l.SetText(text)
	l.Show()
}

func (s *settingsPane) fail(l *widget.Label, text string) {
	l.Importance = widget.DangerImportance
	l.SetText(text)
	l.Show()
}

func (s *settingsPane) newRoom() {
	dialog.ShowConfirm("Make a new room?",
		"Machines in the current room stop lending to this one until they join the new code.",
		func(ok bool) {
			if !ok {
				return
			}
			if err := s.u.eng.SetRoom(""); err != nil {
				s.u.showError("Cannot make a new room", err)
			}
			s.reload()
			s.u.list.refresh()
			s.u.peers.refresh()
		}, s.u.win)
}

func (s *settingsPane) joinRoom() {
	code := widget.NewEntry()
	code.SetPlaceHolder("room code from the other machine")
	d := dialog.NewForm("Join a room", "Join", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Room code", code)},
		func(ok bool) {
			c := strings.TrimSpace(code.Text)
			if !ok || c == "" {
				return
			}
			if !quicwire.RoomCodeWeak(c) {
				s.join(c)
				return
			}
			// Each guess at the code costs an attacker a connection to a
			// member, but a short or common code still falls to guessing.
			dialog.ShowConfirm("This room code is easy to guess",
				"Anyone on your network who guesses it can use this machine's internet link and send it parts of "+
					"your downloads. A code made by Dragonload (New room, on one machine, then Join here) is far "+
					"harder to guess. Join this room anyway?",
				func(yes bool) {
					if yes {
						s.join(c)
					}
				}, s.u.win)
		}, s.u.win)
	d.Resize(fyne.NewSize(460, 0))
	d.Show()
}

// join moves this machine into the room with code c.
func (s *settingsPane) join(c string) {
	if err := s.u.eng.SetRoom(c); err != nil {
		s.u.showError("Cannot join that room", err)
	}
	s.reload()
	s.u.list.refresh()
	s.u.peers.refresh()
}

func (s *settingsPane) chooseDir(set func(string) error) {
	d := dialog.NewFolderOpen(func(dir fyne.ListableURI, err error) {
		if err != nil {
			s.u.showError("Cannot open that folder", err)
			return
		}
		if dir != nil {
			s.setDir(set, dir.Path())
		}
	}, s.u.win)
	d.Resize(fyne.NewSize(720, 480))
	d.Show()
}

func (s *settingsPane) setDir(set func(string) error, dir string) {
	if err := set(dir); err != nil {
		s.u.showError("Cannot use that folder", err)
	}
	s.reload()
}

// parseRate reads a cap in MB/s as the user typed it ("", "0", "2.5").
func parseRate(text string) (int64, error) {
	text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), "MB/s"))
	if text == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(text, ",", "."), 64)
	if err != nil || v < 0 || v > 1e6 {
		return 0, errors.New("type a number of megabytes per second, such as 2.5, or leave it empty")
	}
	return int64(v * 1e6), nil
}

// megabytes writes a rate in bytes per second as the MB/s fields take it;
// no cap is an empty field.
func megabytes(rate int64) string {
	if rate <= 0 {
		return ""
	}
	return strconv.FormatFloat(float64(rate)/1e6, 'f', -1, 64)
}

// joinCommand is what to run on another machine to lend to this room:
// join asks for the code (shown beside it), so that the code never sits on
// a command line where every local user can read it.
const joinCommand = "dragonload join && dragonload agent"

func caption(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.SizeName = theme.SizeNameCaptionText
	l.Wrapping = fyne.TextWrapWord
	return l
}

// note is a caption for the outcome of a change, hidden until there is
// one (an empty label would still take a line).
func note() *widget.Label {
	l := caption("")
	l.Importance = widget.LowImportance
	l.Hide()
	return l
}

// section is a titled group of settings with a one-line explanation.
func section(title, about string, objs ...fyne.CanvasObject) fyne.CanvasObject {
	head := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	head.SizeName = theme.SizeNameSubHeadingText
	return container.NewVBox(append([]fyne.CanvasObject{tight(head, caption(about))}, objs...)...)
}
