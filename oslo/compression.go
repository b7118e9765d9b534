package oslo

import (
	"bytes"
	"compress/bzip2"
	"compress/zlib"
	"fmt"
	"io"
)

// Values of the "compression" AMQP header (kombu_compression).
const (
	CompressionGzip = "application/x-gzip" // despite the name, a zlib stream
	CompressionBz2  = "application/x-bz2"
)

// Decompress undoes kombu compression named by the message's "compression"
// header. An empty header returns body unchanged. At most limit bytes are
// produced (limit <= 0: no limit); more is an error, so a small compressed
// body cannot blow up memory.
func Decompress(header string, body []byte, limit int64) ([]byte, error) {
	var r io.Reader
	switch header {
	case "":
		return body, nil
	case CompressionGzip:
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%w: zlib: %v", ErrMalformed, err)
		}
		defer zr.Close()
		r = zr
	case CompressionBz2:
		r = bzip2.NewReader(bytes.NewReader(body))
	default:
		return nil, fmt.Errorf("%w %q", ErrCompression, header)
	}
	if limit > 0 {
		r = io.LimitReader(r, limit+1)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: decompress: %v", ErrMalformed, err)
	}
	if limit > 0 && int64(len(out)) > limit {
		return nil, fmt.Errorf("%w: decompressed body exceeds %d bytes", ErrMalformed, limit)
	}
	return out, nil
}
