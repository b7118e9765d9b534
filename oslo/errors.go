package oslo

import "errors"

// Errors returned by the codec. Decoding errors wrap ErrMalformed so callers
// can tell bad input from their own mistakes with errors.Is.
var (
	// ErrMalformed: the bytes are not an oslo message (bad JSON, wrong shapes).
	ErrMalformed = errors.New("malformed oslo message")
	// ErrEnvelopeVersion: an envelope whose oslo.version is not compatible
	// with 2.0; Python drops such messages (UnsupportedRpcEnvelopeVersion).
	ErrEnvelopeVersion = errors.New("unsupported oslo envelope version")
	// ErrCompression: a compression header this codec cannot undo.
	ErrCompression = errors.New("unsupported compression")
)
