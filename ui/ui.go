package ui

import (
	"bytes"
	"embed"
	"html"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
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

// ContentPathPlaceholder is replaced, wherever it occurs in index.html, by
// the content path the UI is served under ("/ui/" by default), so that the
// page can set its <base href> and its router's root without being built
// again for another ui_config.content_path.
const ContentPathPlaceholder = "__HERALD_CONTENT_PATH__"

// DatacenterPlaceholder is replaced in index.html by the agent's
// datacenter, so that the page knows which datacenter is local without
// asking /v1/agent/self, which a token-less page may not read under a
// default-deny ACL policy.
const DatacenterPlaceholder = "__HERALD_DATACENTER__"

// hashedDir holds the build's assets, whose names carry a hash of their
// content: a changed asset has a new name, so they may be cached for good.
const hashedDir = "assets/"

const (
	cacheForever = "public, max-age=31536000, immutable"
	// index.html (and every other unhashed file) is checked at every load,
	// so a new build is picked up at once.
	cacheNever = "no-cache"
)

// Handler serves the UI under contentPath ("/ui/" by default, always with
// a leading and a trailing slash), from dir when it is not empty (Consul's
// ui_config.dir) and from the embedded build otherwise; datacenter is the
// agent's.
//
// A path under contentPath that names no file is a page of the
// single-page application (/ui/dc1/services/web): it is answered with
// index.html, so every view can be bookmarked and reloaded. Only paths
// under assets/ answer 404 when missing, so that a stale script reference
// fails as a script, not as a page.
func Handler(contentPath, dir, datacenter string) http.Handler {
	files := Assets()
	if dir != "" {
		files = os.DirFS(dir)
	}
	h := &handler{files: files, contentPath: contentPath, datacenter: datacenter, fromDisk: dir != "", started: time.Now()}
	if !h.fromDisk {
		h.index, _ = h.render() // the embedded build never changes
	}
	return h
}

type handler struct {
	files       fs.FS
	contentPath string
	datacenter  string
	// fromDisk: the files may change under a running agent (ui_config.dir),
	// so index.html is read at every request rather than once.
	fromDisk bool
	started  time.Time
	index    []byte // the rendered index.html of the embedded build, nil if it has none
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, h.contentPath)
	if len(name) == len(r.URL.Path) && r.URL.Path+"/" != h.contentPath {
		http.NotFound(w, r)
		return
	}
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if name != "" && name != "index.html" {
		if f, err := h.files.Open(name); err == nil {
			info, err := f.Stat()
			if err == nil && !info.IsDir() {
				defer f.Close()
				h.serveFile(w, r, name, info, f)
				return
			}
			f.Close()
		}
		if strings.HasPrefix(name, hashedDir) {
			http.NotFound(w, r)
			return
		}
	}
	h.serveIndex(w, r)
}

func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, name string, info fs.FileInfo, f fs.File) {
	if strings.HasPrefix(name, hashedDir) {
		w.Header().Set("Cache-Control", cacheForever)
	} else {
		w.Header().Set("Cache-Control", cacheNever)
	}
	if rs, ok := f.(readSeeker); ok {
		http.ServeContent(w, r, name, info.ModTime(), rs)
		return
	}
	b, err := fs.ReadFile(h.files, name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, name, info.ModTime(), bytes.NewReader(b))
}

type readSeeker interface {
	Read([]byte) (int, error)
	Seek(int64, int) (int64, error)
}

// serveIndex answers with index.html, its placeholder replaced.
func (h *handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	page := h.index
	if h.fromDisk {
		page, _ = h.render()
	}
	if page == nil {
		http.Error(w, "the UI has no index.html", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", cacheNever)
	http.ServeContent(w, r, "index.html", h.started, bytes.NewReader(page))
}

// render reads index.html and puts the content path and the datacenter in
// it.
func (h *handler) render() ([]byte, error) {
	raw, err := fs.ReadFile(h.files, "index.html")
	if err != nil {
		return nil, err
	}
	page := bytes.ReplaceAll(raw, []byte(ContentPathPlaceholder), []byte(html.EscapeString(h.contentPath)))
	return bytes.ReplaceAll(page, []byte(DatacenterPlaceholder), []byte(html.EscapeString(h.datacenter))), nil
}
