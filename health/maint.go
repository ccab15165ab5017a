package health

import "strings"

// NodeMaintCheckID is the ID of the critical check an agent registers for
// its node while the node is in maintenance mode.
const NodeMaintCheckID = "_node_maintenance"

// serviceMaintPrefix starts the ID of a service's maintenance check; the
// service's ID follows it.
const serviceMaintPrefix = "_service_maintenance:"

// ServiceMaintCheckID is the ID of the critical check an agent registers for
// the service with the given ID while it is in maintenance mode.
func ServiceMaintCheckID(serviceID string) string {
	return serviceMaintPrefix + serviceID
}

// IsServiceMaintCheck says whether checkID is a service's maintenance check.
func IsServiceMaintCheck(checkID string) bool {
	return strings.HasPrefix(checkID, serviceMaintPrefix)
}

// IsMaintCheck says whether checkID is a maintenance check, of the node or
// of a service. Maintenance checks are recognised by ID, as Consul does, so
// that one never lets an instance through whatever status a writer gave it.
func IsMaintCheck(checkID string) bool {
	return checkID == NodeMaintCheckID || IsServiceMaintCheck(checkID)
}
