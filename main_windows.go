package main

// The icon, manifest and version information of dragonload.exe.
import _ "github.com/dragonload/dragonload/assets/windows"
