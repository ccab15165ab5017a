// Package ui is Herald's web UI: the built single-page application,
// embedded in the binary (dist/, built from web/ by `make ui`), and the
// handler that serves it under the agent's content path (ui_config
// { enabled, content_path, dir }). The page reads the agent's /v1 API and
// the UI endpoints of package httpapi (/v1/internal/ui/...), documented in
// docs/ui.md.
package ui
