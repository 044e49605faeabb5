package main

import (
	"errors"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/vecswitch/vecswitch/ctl"
)

// cniError turns vswitchd's typed errors into the CNI spec's codes.
func cniError(err error) error {
	if err == nil {
		return nil
	}
	var ce *ctl.Error
	if !errors.As(err, &ce) {
		return types.NewError(types.ErrInternal, "vecswitch-cni: "+err.Error(), "")
	}
	code := types.ErrInternal
	switch ce.Code {
	case ctl.CodeUnavail, ctl.CodeBusy, ctl.CodeTimeout, ctl.CodeNoAnswer:
		code = types.ErrTryAgainLater
	case ctl.CodeInvalid, ctl.CodeUsage, ctl.CodeBadRequest, ctl.CodeNotFound, ctl.CodeExists, ctl.CodeTooLarge:
		code = types.ErrInvalidNetworkConfig
	case ctl.CodeExhausted:
		code = errPoolExhausted
	case ctl.CodeDenied:
		code = types.ErrIOFailure
	}
	return types.NewError(code, "vecswitch-cni: "+ce.Message, string(ce.Code))
}

// checkError is cniError for CHECK: vswitchd's finding that the
// endpoint is missing or not as made is errCheckFailed.
func checkError(err error) error {
	var ce *ctl.Error
	if errors.As(err, &ce) && (ce.Code == ctl.CodeInvalid || ce.Code == ctl.CodeNotFound) {
		return types.NewError(errCheckFailed, "vecswitch-cni: "+ce.Message, string(ce.Code))
	}
	return cniError(err)
}

// This plugin's own error codes (the spec leaves 100 and up to plugins).
const (
	// errPoolExhausted: the address pool has no free address.
	errPoolExhausted uint = 100
	// errCheckFailed: CHECK found the container's network not as ADD
	// made it (or as the previous result says).
	errCheckFailed uint = 101
)
