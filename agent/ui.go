package agent

import (
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/ui"
)

// serveUI hands the web UI to the HTTP API when it is on: -ui,
// ui_config.enabled, -dev, or a ui_config.dir to serve it from (which turns
// it on in Consul too).
func (a *Agent) serveUI(api *httpapi.Server) {
	if !a.cfg.UIEnabled && a.cfg.UIDir == "" {
		return
	}
	api.ServeUI(a.cfg.UIContentPath, ui.Handler(a.cfg.UIContentPath, a.cfg.UIDir))
}
