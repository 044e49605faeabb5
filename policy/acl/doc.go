// Package acl is the security-group classifier (issue 20): named groups
// of ports and member addresses, rules with direction, protocol, port
// ranges, a remote CIDR or remote group, priority and allow/deny, compiled
// into an immutable Classifier whose per-packet cost does not grow with
// the number of rules.
package acl
