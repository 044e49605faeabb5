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
	case ctl.CodeUnavail, ctl.CodeBusy, ctl.CodeTimeout:
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

// errPoolExhausted is this plugin's own error code (the spec leaves 100
// and up to plugins): the address pool has no free address.
const errPoolExhausted uint = 100
