package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// dragonload.exe is a GUI-subsystem program, so that a double click opens
// no console window. Windows then gives it no console even when it is
// started from one, and `dragonload.exe get URL` or `version` would print
// nothing. Before main runs, a program started from a console attaches to
// it and writes there; one whose output was redirected keeps the file or
// pipe; one started from Explorer has no console to attach to and stays
// silent, as a desktop app should. cmd.exe does not wait for a GUI
// program, so its prompt may come back before the output: in scripts, use
// `start /wait dragonload.exe ...` or the headless build.
func init() {
	outOK, errOK := usable(windows.STD_OUTPUT_HANDLE), usable(windows.STD_ERROR_HANDLE)
	if outOK && errOK {
		return
	}
	const attachParentProcess = ^uintptr(0) // ATTACH_PARENT_PROCESS, (DWORD)-1
	if r, _, _ := windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole").Call(attachParentProcess); r == 0 {
		return
	}
	con, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	if !outOK {
		os.Stdout = con
		windows.SetStdHandle(windows.STD_OUTPUT_HANDLE, windows.Handle(con.Fd()))
	}
	if !errOK {
		os.Stderr = con
		windows.SetStdHandle(windows.STD_ERROR_HANDLE, windows.Handle(con.Fd()))
	}
}

// usable reports whether a standard handle leads somewhere: a console, a
// file or a pipe the caller redirected it to.
func usable(std uint32) bool {
	h, err := windows.GetStdHandle(std)
	if err != nil || h == 0 || h == windows.InvalidHandle {
		return false
	}
	t, err := windows.GetFileType(h)
	return err == nil && t != windows.FILE_TYPE_UNKNOWN
}
