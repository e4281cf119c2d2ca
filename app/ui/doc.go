// Package ui is Dragonload's desktop window: a link field, the downloads
// list, a live chunk map of the selected download, the peers of the room,
// the settings, and the Shared tab (the finished downloads this machine
// shares with the room, and a search of what the room shares), plus the
// first-run introduction.
//
// The package draws and forwards; it holds no download logic. Everything it
// shows comes from the engine's event stream (Engine.Subscribe) and snapshot
// calls, and every button is one engine command. Engine is the subset of
// *core.Engine the window uses, so tests can put a fake at that boundary.
//
// Threading: engine events arrive on a goroutine that only batches them;
// about ten times a second the batch is handed to the Fyne main goroutine
// (fyne.Do), which applies it to the model and redraws. So the window never
// redraws faster than it can be read, and widgets are touched only on the
// main goroutine.
//
// The package never imports fyne.io/fyne/v2/app, so it builds without cgo
// and its tests run on Fyne's test driver with CGO_ENABLED=0.
package ui
