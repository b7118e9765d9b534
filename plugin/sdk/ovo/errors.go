package ovo

import "github.com/oslohost/oslohost/plugin/sdk"

// ModuleException is the Python module of oslo.versionedobjects' exceptions.
const ModuleException = "oslo_versionedobjects.exception"

// IncompatibleObjectVersion is the error oslo.versionedobjects raises for
// an object at a version the reader does not know: an
// oslo_versionedobjects.exception.IncompatibleObjectVersion with its
// message and keyword arguments, so a Python caller allowing the module
// (allowed_remote_exmods) gets that very class.
func IncompatibleObjectVersion(objname, objver, supported string) *sdk.RemoteError {
	e := sdk.NewRemoteError(ModuleException, "IncompatibleObjectVersion",
		"Version %s of %s is not supported, supported version is %s", objver, objname, supported)
	e.Kwargs = map[string]any{"objname": objname, "objver": objver, "supported": supported}
	return e
}
