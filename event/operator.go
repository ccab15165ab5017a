package event

// AutopilotUpdated (catalog shard): the autopilot configuration was
// written. Autopilot holds it after the change.
const AutopilotUpdated Type = "operator.autopilot.updated"

// AutopilotKey is the Key of autopilot events: their subject is
// herald.<dc>.catalog.operator.autopilot.
const AutopilotKey = "operator/autopilot"

// AutopilotConfig is the replicated autopilot configuration, in the
// fields of Consul's AutopilotConfiguration. Durations are nanoseconds;
// the API shows them as Consul's duration strings.
type AutopilotConfig struct {
	CleanupDeadServers      bool
	LastContactThreshold    int64
	MaxTrailingLogs         uint64
	MinQuorum               uint64
	ServerStabilizationTime int64
	RedundancyZoneTag       string
	DisableUpgradeMigration bool
	UpgradeVersionTag       string
	CreateIndex             uint64
	ModifyIndex             uint64
}
