package config

import (
	"fmt"

	"github.com/heraldhq/herald/connectca"
)

// Connect is Consul's connect { } block: the built-in Connect CA.
type Connect struct {
	// Enabled serves the Connect CA endpoints; when false they answer
	// Consul's "Connect must be enabled in order to use this endpoint".
	// Default true, as in Consul since 1.14 (and in -dev before).
	Enabled bool
	// CAProvider is the CA provider: only Consul's built-in "consul".
	CAProvider string
	// CAConfig is the provider's configuration (leaf_cert_ttl,
	// root_cert_ttl, private_key_type, private_key_bits, private_key,
	// root_cert, cluster_id); like Consul, it only shapes the CA the
	// cluster's first leader creates. Afterwards
	// /v1/connect/ca/configuration changes it.
	CAConfig map[string]any
}

// connectBlock is the setter of the connect { } block.
func (l *loader) connectBlock() setter {
	c := &l.cfg.Connect
	return l.block("connect", fields{
		"enabled": boolField(&c.Enabled),
		"ca_provider": func(v any) error {
			s, err := toString(v)
			if err != nil {
				return err
			}
			if s != "" && s != connectca.Provider {
				return fmt.Errorf("CA provider %q is not supported by Herald: only %q, the built-in CA", s, connectca.Provider)
			}
			c.CAProvider = s
			return nil
		},
		"ca_config": func(v any) error {
			obj, err := toObject(normalizeRaw(v))
			if err != nil {
				return err
			}
			if c.CAConfig == nil {
				c.CAConfig = map[string]any{}
			}
			for k, val := range obj {
				c.CAConfig[k] = val
			}
			if _, err := connectca.ParseConfig(c.CAConfig); err != nil {
				return err
			}
			return nil
		},
	})
}
