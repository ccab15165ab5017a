package agent

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/agent/wan"
	"github.com/heraldhq/herald/dnsserver"
)

// translate_wan_addrs, as in Consul: the agent a user asks, when it has
// the setting on, answers about the nodes and services of ANOTHER
// datacenter with their "wan" tagged addresses (and a service's "wan"
// port) where they have them. The setting is the asking agent's, and the
// datacenter is the one the request names, so:
//
//   - HTTP (?dc= on the catalog's and health's node and service reads, and
//     a prepared query's execution there or failing over there): this
//     agent rewrites the other datacenter's answer as it passes back, and
//     says so in X-Consul-Translate-Addresses, as Consul does;
//   - DNS (names with another datacenter, and a query name failing over to
//     one): the answer is made there, from the catalog, so this agent marks
//     the query it sends with an EDNS0 option of the local range
//     (wanTranslateOption), and the answering server takes it off and
//     answers from its catalog with the WAN addresses
//     (dnsserver.WithWANAddresses).

// translateHeader is Consul's header saying the addresses of an answer
// were translated (api.QueryMeta.AddressTranslationEnabled).
const translateHeader = "X-Consul-Translate-Addresses"

// wanTranslateOption is the EDNS0 option, in the range RFC 6891 leaves to
// local use, that asks another datacenter's server for WAN addresses. Its
// data is one byte: 1 when the sender added the OPT record for it (the
// answering server then takes the record off), 0 when the query had one.
const wanTranslateOption = 0xFE48

// translateWANTo reports whether answers about dc are to be translated.
func (a *Agent) translateWANTo(dc string) bool {
	return a.cfg.WAN.TranslateAddrs && dc != "" && !strings.EqualFold(dc, a.cfg.Datacenter)
}

// translatedAnswer is the shape of path's answer whose addresses are
// translated; "" for an answer that has none.
func translatedAnswer(path string) string {
	prefixes := []struct{ prefix, shape string }{
		{"/v1/catalog/nodes", "nodes"},
		{"/v1/catalog/node/", "node services"},
		{"/v1/catalog/node-services/", "node services"},
		{"/v1/catalog/service/", "service nodes"},
		{"/v1/catalog/connect/", "service nodes"},
		{"/v1/health/service/", "check service nodes"},
		{"/v1/health/connect/", "check service nodes"},
		{"/v1/health/ingress/", "check service nodes"},
	}
	for _, p := range prefixes {
		if strings.HasPrefix(path, p.prefix) {
			return p.shape
		}
	}
	if strings.HasPrefix(path, "/v1/query/") && strings.HasSuffix(path, "/execute") {
		return "query execution"
	}
	return ""
}

// translateHTTP rewrites resp, the answer to a request for path in
// another datacenter, with the WAN addresses. An answer it cannot read is
// left as it is.
func translateHTTP(path string, pretty bool, resp *wan.HTTPResponse) {
	shape := translatedAnswer(path)
	if shape == "" || resp.Status != http.StatusOK {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.UseNumber() // indexes stay as they are
	var body any
	if err := dec.Decode(&body); err != nil {
		return
	}
	switch shape {
	case "nodes":
		for _, n := range objects(body) {
			wanNodeJSON(n)
		}
	case "node services":
		if o, ok := body.(map[string]any); ok {
			if n, ok := o["Node"].(map[string]any); ok {
				wanNodeJSON(n)
			}
		}
	case "service nodes":
		for _, sn := range objects(body) {
			wanNodeJSON(sn)
			wanServiceJSON(sn, "ServiceAddress", "ServicePort", "ServiceTaggedAddresses")
		}
	case "check service nodes", "query execution":
		list := body
		if o, ok := body.(map[string]any); ok && shape == "query execution" {
			list = o["Nodes"]
		}
		for _, csn := range objects(list) {
			if n, ok := csn["Node"].(map[string]any); ok {
				wanNodeJSON(n)
			}
			if s, ok := csn["Service"].(map[string]any); ok {
				wanServiceJSON(s, "Address", "Port", "TaggedAddresses")
			}
		}
	}
	var out []byte
	var err error
	if pretty {
		out, err = json.MarshalIndent(body, "", "    ")
	} else {
		out, err = json.Marshal(body)
	}
	if err != nil {
		return
	}
	resp.Body = out
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	resp.Header.Set(translateHeader, "true")
	resp.Header.Del("Content-Length")
}

func objects(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if o, ok := e.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

// wanNodeJSON sets a node's Address to its "wan" tagged address.
func wanNodeJSON(n map[string]any) {
	tagged, _ := n["TaggedAddresses"].(map[string]any)
	if wanAddr, _ := tagged[dnsserver.TaggedWAN].(string); wanAddr != "" {
		n["Address"] = wanAddr
	}
}

// wanServiceJSON sets a service's address and port, under the names
// given, to its "wan" tagged address and port.
func wanServiceJSON(s map[string]any, addrKey, portKey, taggedKey string) {
	tagged, _ := s[taggedKey].(map[string]any)
	wanAddr, _ := tagged[dnsserver.TaggedWAN].(map[string]any)
	if addr, _ := wanAddr["Address"].(string); addr != "" {
		s[addrKey] = addr
	}
	if port, _ := wanAddr["Port"].(json.Number); port != "" && port != "0" {
		s[portKey] = port
	}
}

// markDNSTranslate adds wanTranslateOption to a query for another
// datacenter.
func markDNSTranslate(m *dns.Msg) {
	added := byte(0)
	opt := m.IsEdns0()
	if opt == nil {
		m.SetEdns0(dns.MinMsgSize, false)
		opt, added = m.IsEdns0(), 1
	}
	opt.Option = append(opt.Option, &dns.EDNS0_LOCAL{Code: wanTranslateOption, Data: []byte{added}})
}

// takeDNSTranslate takes wanTranslateOption off m, and reports whether it
// was there.
func takeDNSTranslate(m *dns.Msg) bool {
	opt := m.IsEdns0()
	if opt == nil {
		return false
	}
	for i, o := range opt.Option {
		local, ok := o.(*dns.EDNS0_LOCAL)
		if !ok || local.Code != wanTranslateOption {
			continue
		}
		opt.Option = append(opt.Option[:i:i], opt.Option[i+1:]...)
		if len(local.Data) == 1 && local.Data[0] == 1 {
			extra := m.Extra[:0:0]
			for _, rr := range m.Extra {
				if rr != dns.RR(opt) {
					extra = append(extra, rr)
				}
			}
			m.Extra = extra
		}
		return true
	}
	return false
}

// wanDNS is the DNS interface a server answers the other datacenters'
// queries asking for WAN addresses with, made at the first.
type wanDNS struct {
	once sync.Once
	srv  *dnsserver.Server
	err  error
}

// translatingDNS is the server's DNS interface over its catalog with the
// WAN addresses.
func (a *Agent) translatingDNS() (*dnsserver.Server, error) {
	a.wan.translating.once.Do(func() {
		cfg := a.wan.dnsConfig
		cfg.Catalog = dnsserver.WithWANAddresses(cfg.Catalog)
		a.wan.translating.srv, a.wan.translating.err = dnsserver.New(cfg)
	})
	return a.wan.translating.srv, a.wan.translating.err
}
