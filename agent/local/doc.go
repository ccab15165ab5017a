// Package local is an agent's own state: the services and checks registered
// with this agent (by its config files or its /v1/agent API), the check
// runners behind them, and the work of keeping the catalog in step with them
// (anti-entropy). It writes to the catalog only through commands, and only
// what changed: a check that keeps passing writes nothing.
package local
