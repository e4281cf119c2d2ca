// Package locale maps the POSIX "C" locale to the English one it stands for,
// before any other package reads it.
//
// Fyne's translations package parses the locale in an init function and logs
// three lines of error for "C" or "POSIX" (the default in containers, CI and
// many servers), which would reach every subcommand, agent included, even
// though none of them opens a window. This package imports nothing but os,
// so Go initializes it before Fyne's language package (packages initialize
// in import-path order once their dependencies are ready, and Fyne's depends
// on golang.org/x/text, which sorts after this module); main imports it.
// Only this process's environment changes.
package locale

import "os"

func init() {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		switch os.Getenv(v) {
		case "":
			continue
		case "C", "POSIX", "C.UTF-8", "C.utf8":
			os.Setenv(v, "en_US.UTF-8")
		}
		return
	}
}
