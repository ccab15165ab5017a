// Package hclguard refuses HCL documents nested deeper than a limit before
// HCL's own parser sees them. HCL v1's parser takes time quadratic in the
// depth of nested lists (each level's error wraps the one below), so a few
// kilobytes of brackets can hold a CPU for seconds to minutes; every place
// that hands user input to that parser (ACL rules, agent config files,
// config entries) checks here first.
package hclguard
