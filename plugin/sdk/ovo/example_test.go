package ovo_test

import (
	"fmt"

	"github.com/oslohost/oslohost/plugin/sdk/ovo"
)

type Server struct {
	ovo.Base
	Name   string  `json:"name"`
	Status string  `json:"status"`
	Zone   *string `json:"zone" ovo:"since=1.1"`
}

var registry = ovo.NewRegistry("versioned_object", ovo.Object[Server]("Server", "demo", "1.1"))

// A Python service sent a Server; the plugin changes its status and sends
// it back: once as it is, once to a reader of version 1.0.
func Example() {
	in := `{"versioned_object.name": "Server", "versioned_object.namespace": "demo",
	  "versioned_object.version": "1.1",
	  "versioned_object.data": {"name": "web1", "status": "BUILD", "zone": "az1"}}`
	var s Server
	if err := registry.Unmarshal([]byte(in), &s); err != nil {
		panic(err)
	}
	s.Status = "ACTIVE"
	out, _ := registry.Marshal(&s, nil)
	fmt.Println(string(out))
	old, _ := registry.Marshal(&s, ovo.Manifest{"Server": "1.0"})
	fmt.Println(string(old))
	// Output:
	// {"versioned_object.changes":["status"],"versioned_object.data":{"name":"web1","status":"ACTIVE","zone":"az1"},"versioned_object.name":"Server","versioned_object.namespace":"demo","versioned_object.version":"1.1"}
	// {"versioned_object.changes":["status"],"versioned_object.data":{"name":"web1","status":"ACTIVE"},"versioned_object.name":"Server","versioned_object.namespace":"demo","versioned_object.version":"1.0"}
}
