// Package nova proves the SDK's versioned objects, serializers and typed
// context with Nova's own code: python3-nova's ComputeAPI (with its
// NovaObjectSerializer, pinned through [upgrade_levels] so that no database
// is needed), its notifier and its conductor's object_backport_versions,
// against the real oslohost binary serving plugins/examples/compute over
// the real broker. The Python side is test/pypeer's nova_peer.py.
package nova
