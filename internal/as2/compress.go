package as2

import (
	"bytes"
	"compress/zlib"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
)

// maxDecompressed bounds what one CompressedData may expand to, so a small hostile message cannot
// exhaust memory.
const maxDecompressed = 256 << 20

// errTooLarge reports a decompressed message above maxDecompressed.
var errTooLarge = errors.New("decompressed content is too large")

// compressCMS wraps content in a CMS CompressedData (RFC 3274) with zlib, as RFC 5402 asks.
func compressCMS(content []byte) ([]byte, error) {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	if _, err := w.Write(content); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	octet, err := asn1.Marshal(z.Bytes())
	if err != nil {
		return nil, err
	}
	inner, err := asn1.Marshal(compressedData{
		CompressionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidZlibCompress},
		EncapContentInfo: encapContentInfo{
			EContentType: oidData,
			EContent:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: octet},
		},
	})
	if err != nil {
		return nil, err
	}
	return marshalContentInfo(oidCompressedData, inner)
}

// decompressCMS opens the inner encoding of a CompressedData.
func decompressCMS(inner []byte) ([]byte, error) {
	var cd compressedData
	if _, err := asn1.Unmarshal(inner, &cd); err != nil {
		return nil, fmt.Errorf("reading CompressedData: %w", err)
	}
	if !cd.CompressionAlgorithm.Algorithm.Equal(oidZlibCompress) {
		return nil, fmt.Errorf("%w: compression %v", errUnsupportedAlgorithm, cd.CompressionAlgorithm.Algorithm)
	}
	var octet asn1.RawValue
	if _, err := asn1.Unmarshal(cd.EncapContentInfo.EContent.Bytes, &octet); err != nil {
		return nil, fmt.Errorf("reading CompressedData content: %w", err)
	}
	z, err := octets(octet)
	if err != nil {
		return nil, err
	}
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("reading zlib stream: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxDecompressed+1))
	if err != nil {
		return nil, fmt.Errorf("reading zlib stream: %w", err)
	}
	if len(out) > maxDecompressed {
		return nil, errTooLarge
	}
	return out, nil
}
