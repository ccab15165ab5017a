// Package tokens keeps an agent's ACL tokens (Consul's default, agent,
// agent_recovery, replication, config_file_service_registration and dns
// tokens): the configured ones, replaced through /v1/agent/token/:type, and
// with acl.enable_token_persistence the replacements saved in the data dir
// (acl-tokens.json, as Consul names it) so that they outlive a restart.
package tokens
