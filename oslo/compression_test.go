package oslo

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// pyBody compressed by Python's kombu.compression.compress (kombu 5.2.4).
const (
	pyBody   = `{"oslo.version": "2.0", "oslo.message": "{\"method\": \"record\", \"args\": {}}"}`
	pyGzipHx = "789cab56ca2fcec9d72b4b2d2acecccf53b2525032d23350d2518008e7a6161727a6a78284ab639472534b32f2536280bc18a5a2d4e4fc22205b07c84e2c4a2f068956d7d62ad5020027d219eb"
	pyBz2Hx  = "425a6839314159265359449037900000259b805005501000042ee79d0a2000544468d068001a0d4cd48d3d2640c1a9b94441b4a3ed08074aaec39b8a180ec664c8b19e78f95f42c5da1538a07910809675a9cdc0d096a1711c7c5dc914e142411240de40"
	// The first bytes of the gzip-compressed cast of spec A.14.
	specA14PrefixHx = "789c2dca510a83301004d0abc87e1789"
)

func zlibCompress(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecompress(t *testing.T) {
	big := []byte(strings.Repeat(`{"k": "v"}`, 10000))
	tests := []struct {
		name    string
		header  string
		body    []byte
		limit   int64
		want    []byte
		wantErr error
	}{
		{name: "no header", body: []byte("as is"), want: []byte("as is")},
		{name: "no header ignores the limit", body: []byte("as is"), limit: 1, want: []byte("as is")},
		{name: "zlib round trip", header: CompressionGzip, body: zlibCompress(t, big), want: big},
		{name: "python gzip (zlib stream)", header: CompressionGzip, body: mustHex(t, pyGzipHx), want: []byte(pyBody)},
		{name: "python bz2", header: CompressionBz2, body: mustHex(t, pyBz2Hx), want: []byte(pyBody)},
		{name: "empty zlib stream", header: CompressionGzip, body: zlibCompress(t, nil), want: []byte{}},
		{name: "limit exactly met", header: CompressionGzip, body: zlibCompress(t, big), limit: int64(len(big)), want: big},
		{name: "limit exceeded", header: CompressionGzip, body: zlibCompress(t, big), limit: int64(len(big)) - 1, wantErr: ErrMalformed},
		{name: "bz2 limit exceeded", header: CompressionBz2, body: mustHex(t, pyBz2Hx), limit: 10, wantErr: ErrMalformed},
		// A.14: a truncated stream starts like a real one and then fails.
		{name: "spec A.14 prefix, truncated", header: CompressionGzip, body: mustHex(t, specA14PrefixHx), wantErr: ErrMalformed},
		{name: "gzip header is no zlib stream", header: CompressionGzip, body: []byte{0x1f, 0x8b, 8, 0}, wantErr: ErrMalformed},
		{name: "zlib garbage", header: CompressionGzip, body: []byte("not compressed"), wantErr: ErrMalformed},
		{name: "zlib bad checksum", header: CompressionGzip, body: corruptTail(zlibCompress(t, big)), wantErr: ErrMalformed},
		{name: "bz2 garbage", header: CompressionBz2, body: []byte("BZh9 not really"), wantErr: ErrMalformed},
		{name: "unknown header", header: "application/x-lzma", body: []byte("x"), wantErr: ErrCompression},
		{name: "header case matters", header: "Application/X-Gzip", body: zlibCompress(t, big), wantErr: ErrCompression},
		{name: "zlib alias is no header value", header: "zlib", body: zlibCompress(t, big), wantErr: ErrCompression},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decompress(tt.header, tt.body, tt.limit)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decompress = %d bytes, %v; want %v", len(got), err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decompress: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Decompress = %q, want %q", truncate(got, 64), truncate(tt.want, 64))
			}
		})
	}
}

func corruptTail(b []byte) []byte {
	out := bytes.Clone(b)
	out[len(out)-1] ^= 0xff
	return out
}

// The A.14 prefix is a real zlib header (CMF 0x78, FLG 0x9c).
func TestSpecA14PrefixIsZlib(t *testing.T) {
	if _, err := zlib.NewReader(bytes.NewReader(mustHex(t, specA14PrefixHx))); err != nil {
		t.Errorf("zlib rejects the A.14 header: %v", err)
	}
}

func TestDecompressedPythonBodyDecodes(t *testing.T) {
	body, err := Decompress(CompressionGzip, mustHex(t, pyGzipHx), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeRequest(body)
	if err != nil || r.Method != "record" || r.IsCall() {
		t.Errorf("DecodeRequest = %+v, %v", r, err)
	}
}
