package bench

import (
	"os"
	"testing"
)

func TestWorkDirRemovedUnlessKept(t *testing.T) {
	for _, keep := range []bool{false, true} {
		dir, done, err := WorkDir("testbench", t.TempDir(), keep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("keep=%v: the directory was not made: %v", keep, err)
		}
		done()
		_, err = os.Stat(dir)
		if kept := err == nil; kept != keep {
			t.Fatalf("keep=%v: directory there after done: %v", keep, kept)
		}
	}
}
