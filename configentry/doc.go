// Package configentry reads and checks Consul's config entries
// (service-defaults, proxy-defaults, service-intentions, service-router,
// service-splitter, service-resolver, ingress-gateway, terminating-gateway,
// mesh, exported-services): the one decoder of the HTTP API, the CLI's
// files and the agent's config_entries.bootstrap, and the one home of their
// validation rules, with Consul's messages.
//
// Entries are the structs of Consul's api package, so what Herald stores
// and answers has exactly the fields and JSON shape Consul's clients
// decode. Any spelling Consul accepts is read: the API's CamelCase, the
// snake_case of HCL files, and HCL's blocks (lists of one object).
package configentry
