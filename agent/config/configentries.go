package config

import (
	"fmt"

	"github.com/heraldhq/herald/configentry"
)

// configEntriesBlock reads config_entries { bootstrap = [...] }: config
// entries the servers write at start when they do not exist yet, checked
// here as /v1/config checks them.
func (l *loader) configEntriesBlock() func(v any) error {
	return func(v any) error {
		obj, err := toObject(v)
		if err != nil {
			return err
		}
		for _, k := range sortedKeys(obj) {
			if fold(k) != "bootstrap" {
				l.warnKey(joinPath("config_entries", k))
				continue
			}
			list, ok := obj[k].([]any)
			if !ok {
				if m, isObj := obj[k].(map[string]any); isObj {
					list = []any{m}
				} else {
					return fmt.Errorf("config_entries.bootstrap: expected a list of config entries")
				}
			}
			for i, raw := range list {
				m, ok := raw.(map[string]any)
				if !ok {
					return fmt.Errorf("config_entries.bootstrap[%d]: expected a config entry object", i)
				}
				e, err := configentry.DecodeMap(m)
				if err != nil {
					return fmt.Errorf("config_entries.bootstrap[%d]: %v", i, err)
				}
				configentry.Normalize(e)
				if err := configentry.Validate(e); err != nil {
					return fmt.Errorf("config_entries.bootstrap[%d]: %v", i, err)
				}
				l.cfg.ConfigEntriesBootstrap = append(l.cfg.ConfigEntriesBootstrap, e)
			}
		}
		return nil
	}
}
