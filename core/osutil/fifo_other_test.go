//go:build !unix

package osutil

import "errors"

func mkfifo(string) error { return errors.ErrUnsupported }
