package main

import (
	"os"
	"path/filepath"

	"github.com/heraldhq/herald/cli"
)

func main() {
	os.Exit(cli.Run(filepath.Base(os.Args[0]), os.Args[1:], cli.IO{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Env:    os.Getenv,
	}))
}
