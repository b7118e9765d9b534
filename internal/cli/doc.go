// Package cli implements the oslohost command line: run, validate, call,
// cast, ping and version. [Main] runs one invocation in-process and returns
// its exit code, so that tests need no subprocess:
//
//	0  success
//	1  failure: invalid configuration, remote error, timeout, no broker, …
//	2  usage error: unknown command or flag, missing flag or argument
//
// Errors are printed on stderr as "Error: …"; results on stdout.
package cli
