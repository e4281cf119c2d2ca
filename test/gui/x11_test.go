package gui

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// closeWindow asks an X client to close its window the way a window
// manager's close button does: a WM_PROTOCOLS ClientMessage carrying
// WM_DELETE_WINDOW. xdotool can only destroy or kill a window, and Xvfb runs
// no window manager, so this speaks the X11 protocol directly.
func closeWindow(display int, window uint32) error {
	c, err := net.DialTimeout("unix", fmt.Sprintf("/tmp/.X11-unix/X%d", display), 5*time.Second)
	if err != nil {
		return fmt.Errorf("cannot connect to display :%d: %w", display, err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	le := binary.LittleEndian

	// Connection setup: little endian, protocol 11.0, no authorisation.
	setup := []byte{'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if _, err := c.Write(setup); err != nil {
		return fmt.Errorf("cannot send X11 setup: %w", err)
	}
	head := make([]byte, 8)
	if _, err := io.ReadFull(c, head); err != nil {
		return fmt.Errorf("cannot read X11 setup reply: %w", err)
	}
	if head[0] != 1 {
		return fmt.Errorf("the X server refused the connection (status %d)", head[0])
	}
	if _, err := io.CopyN(io.Discard, c, int64(le.Uint16(head[6:]))*4); err != nil {
		return fmt.Errorf("cannot read X11 setup data: %w", err)
	}

	intern := func(name string) (uint32, error) {
		pad := (4 - len(name)%4) % 4
		req := make([]byte, 8+len(name)+pad)
		req[0] = 16 // InternAtom
		le.PutUint16(req[2:], uint16(len(req)/4))
		le.PutUint16(req[4:], uint16(len(name)))
		copy(req[8:], name)
		if _, err := c.Write(req); err != nil {
			return 0, err
		}
		rep := make([]byte, 32)
		if _, err := io.ReadFull(c, rep); err != nil {
			return 0, err
		}
		if rep[0] != 1 {
			return 0, fmt.Errorf("InternAtom %s failed with X error %d", name, rep[1])
		}
		return le.Uint32(rep[8:]), nil
	}
	protocols, err := intern("WM_PROTOCOLS")
	if err != nil {
		return err
	}
	deleteWindow, err := intern("WM_DELETE_WINDOW")
	if err != nil {
		return err
	}

	// SendEvent of a ClientMessage to the window's owner (empty event mask).
	req := make([]byte, 44)
	req[0] = 25 // SendEvent
	le.PutUint16(req[2:], 11)
	le.PutUint32(req[4:], window)
	ev := req[12:]
	ev[0] = 33 // ClientMessage
	ev[1] = 32 // format: 32-bit data
	le.PutUint32(ev[4:], window)
	le.PutUint32(ev[8:], protocols)
	le.PutUint32(ev[12:], deleteWindow)
	if _, err := c.Write(req); err != nil {
		return fmt.Errorf("cannot send WM_DELETE_WINDOW: %w", err)
	}

	// GetInputFocus as a round trip: its reply (or an error for the
	// SendEvent) proves the server processed the event.
	if _, err := c.Write([]byte{43, 0, 1, 0}); err != nil {
		return err
	}
	rep := make([]byte, 32)
	if _, err := io.ReadFull(c, rep); err != nil {
		return fmt.Errorf("no answer from the X server: %w", err)
	}
	if rep[0] == 0 {
		return fmt.Errorf("the X server rejected WM_DELETE_WINDOW with error %d", rep[1])
	}
	return nil
}
