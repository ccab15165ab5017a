//go:build !linux

package hostinfo

import (
	"errors"
	"runtime"
)

var errUnsupported = errors.New("host information is collected on Linux only, not on " + runtime.GOOS)

func memory() (*Memory, error)        { return nil, errUnsupported }
func cpus() ([]CPU, error)            { return nil, errUnsupported }
func host() (*Host, error)            { return nil, errUnsupported }
func disk(path string) (*Disk, error) { return nil, errUnsupported }
