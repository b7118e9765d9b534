// Package config loads and validates oslohost's HCL configuration.
//
// A configuration is one or more files, or directories of *.hcl files, merged
// into one [Config]: blocks from every file are gathered, singleton blocks
// (transport, host, admin, log) may appear once across all files and labelled
// blocks (executor, plugin, server, listener) once per label. Expressions may
// call env("NAME") (and env("NAME", "fallback")), format, join, lower and upper.
// Durations are strings such as "30s".
//
// Every problem — syntax, unknown arguments, wrong types, bad durations,
// unknown executor or plugin references — is reported as an [hcl.Diagnostic]
// with a source range, and all of them are returned at once. [WriteDiagnostics]
// renders them with source snippets; [FormatDiagnostic] renders one on a line.
//
// The resulting [Config] is plain data with defaults applied. Each block keeps
// its source position in an embedded [Source] so later checks (a plugin that
// fails to start, say) can point at the configuration line. Its JSON form
// never shows the transport password, the admin token or plugin environment
// values.
package config
