package acl

// ConfigEntryResource is what a config entry's permissions are about, as
// Consul's CanRead and CanWrite of each kind say: the service of the
// entry's name for service-defaults and the discovery chain's kinds, the
// intentions of its destination for service-intentions, and the mesh for
// proxy-defaults, mesh, gateways and exported-services. Reading
// proxy-defaults and mesh needs no permission (free is true).
func ConfigEntryResource(kind, name string) (res Resource, resName string, free bool) {
	switch kind {
	case "service-defaults", "service-router", "service-splitter", "service-resolver":
		return ResourceService, name, false
	case "service-intentions":
		return ResourceIntention, name, false
	case "proxy-defaults", "mesh":
		return ResourceMesh, "", true
	case "ingress-gateway", "terminating-gateway":
		return ResourceMesh, "", false
	}
	return ResourceMesh, "", false
}

// CanReadConfigEntry reports whether a may read the entry of kind and
// name: gateways are read with service:read on their name, as in Consul.
func CanReadConfigEntry(a Authorizer, kind, name string) bool {
	res, resName, free := ConfigEntryResource(kind, name)
	if free {
		return true
	}
	if kind == "ingress-gateway" || kind == "terminating-gateway" {
		return a.Allowed(ResourceService, name, Read)
	}
	return a.Allowed(res, resName, Read)
}
