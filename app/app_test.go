package app

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestHandOffToRunningApp(t *testing.T) {
	run, err := os.MkdirTemp("", "dlapp")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(run)
	t.Setenv("XDG_RUNTIME_DIR", run)
	home := t.TempDir()

	// No app yet: HandOff claims the socket for this process's Run.
	handled, err := HandOff(home, []string{"https://e.com/a"})
	if err != nil || handled {
		t.Fatalf("first HandOff = %v, %v; want false, nil", handled, err)
	}
	ln, err := claim(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []string, 1)
	go ln.Serve(func(args []string) { got <- args })
	defer ln.Close()

	// A second launch from another folder hands its link and file over,
	// the file as an absolute path.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.dragon"), []byte("https://e.com/b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	handled, err = HandOff(home, []string{"https://e.com/a", "b.dragon", "not-a-file"})
	if err != nil || !handled {
		t.Fatalf("second HandOff = %v, %v; want true, nil", handled, err)
	}
	select {
	case args := <-got:
		want := []string{"https://e.com/a", filepath.Join(dir, "b.dragon"), "not-a-file"}
		if !reflect.DeepEqual(args, want) {
			t.Fatalf("running app got %q, want %q", args, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the running app never got the arguments")
	}

	// Another home is another app.
	handled, err = HandOff(t.TempDir(), nil)
	if err != nil || handled {
		t.Fatalf("HandOff for another home = %v, %v; want false, nil", handled, err)
	}
	keep("", nil) // release the socket claimed for the other home
}
