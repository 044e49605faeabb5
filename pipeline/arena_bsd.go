//go:build darwin || freebsd

package pipeline

const mapPopulate = 0
