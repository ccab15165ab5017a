package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"os"
)

// dist is the built application (web/ is its source).
//
//go:embed all:dist
var dist embed.FS

// Assets are the built application's files, rooted at dist/.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded at build time; it always exists
	}
	return sub
}

// Handler serves the UI under contentPath ("/ui/" by default, always with
// a leading and a trailing slash), from dir when it is not empty (Consul's
// ui_config.dir) and from the embedded build otherwise.
func Handler(contentPath, dir string) http.Handler {
	files := Assets()
	if dir != "" {
		files = os.DirFS(dir)
	}
	return http.StripPrefix(contentPath, http.FileServerFS(files))
}
