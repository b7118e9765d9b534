// Package ovo declares Go structs as oslo.versionedobjects objects and
// converts them to and from their primitives, the form in which Nova,
// Cinder, Neutron, Ironic and Glance pass objects over RPC and in
// versioned notifications:
//
//	{"nova_object.name": "Instance", "nova_object.namespace": "nova",
//	 "nova_object.version": "2.7", "nova_object.data": {...},
//	 "nova_object.changes": ["host"]}
//
// Declare the objects once, then serve them with the [Serializer]:
//
//	type Instance struct {
//		ovo.Base
//		UUID   string  `json:"uuid"`
//		Host   *string `json:"host"`
//		Hidden bool    `json:"hidden" ovo:"since=2.6"`
//	}
//
//	var objects = ovo.NewRegistry("nova_object",
//		ovo.Object[Instance]("Instance", "nova", "2.7"))
//
//	sdk.Serve(sdk.Endpoint{Version: "6.1", Impl: &Compute{},
//		Serializer: &ovo.Serializer{Registry: objects}})
//
// A method then takes and returns *Instance like any Go value. Objects
// nest: a field of a declared type (T, *T, []T, []*T, map[string]*T) is an
// object field or a list of objects.
//
// Changes: an object goes back with the changes it arrived with plus every
// field whose value the plugin changed (compared with what arrived); a new
// object with every field it has. Fields at their zero value that did not
// arrive are not sent (unset, as in Python); [Base.ObjSet] sends them
// anyway. [Registry.ResetChanges] is obj_reset_changes.
//
// Fields the Go struct does not declare go back as they arrived (Nova's
// Instance has some eighty; a plugin declares those it uses), unless the
// object goes back at an older version than it came with.
//
// Versions: the Go struct is the newest version it declares; an older
// object decodes into it (fields it lacked stay unset) and goes back at the
// version it came with. [Serializer.Pins] cap versions for callers pinned
// to older API versions (version_cap); an object newer than declared is
// backported through the host's conductor or refused with
// oslo_versionedobjects.exception.IncompatibleObjectVersion.
//
// Without a plugin around (the Go client, tests), [Registry.Primitive],
// [Registry.Marshal] and [Registry.Unmarshal] do the same conversions:
//
//	args, _ := objects.Primitive(map[string]any{"instance": inst}, nil)
//	var raw json.RawMessage
//	err := c.Call(ctx, rc.Map(), "get_console_output", args, &raw) // c a client.Client
//	var out Instance
//	err = objects.Unmarshal(raw, &out)
package ovo
