package retention

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Archive stores compressed payloads under keys ("partner/2026/03/02/msg_x.gz"). Put must be
// idempotent (writing the same key twice leaves one object) and durable when it returns; Get
// returns the bytes given to Put, or an error wrapping fs.ErrNotExist. A folder (Folder) is built
// in; an S3-compatible bucket is another implementation of the same two methods.
type Archive interface {
	Put(ctx context.Context, key string, payload []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
}

// Folder is an Archive of gzip files in a directory tree.
type Folder struct {
	Dir string
}

var _ Archive = Folder{}

// MaxPayload bounds what Get decompresses, as a guard against a corrupted or hostile archive.
const MaxPayload = 1 << 30

func (f Folder) path(key string) (string, error) {
	clean := filepath.FromSlash(key)
	if key == "" || filepath.IsAbs(clean) || strings.HasPrefix(filepath.Clean(clean), "..") {
		return "", fmt.Errorf("archive key %q is not a relative path inside the archive", key)
	}
	return filepath.Join(f.Dir, clean), nil
}

// Put writes payload gzip-compressed to Dir/key, through a temporary file renamed into place
// after an fsync, so a crash never leaves a half-written object under the key.
func (f Folder) Put(_ context.Context, key string, payload []byte) error {
	p, err := f.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw := gzip.NewWriter(tmp)
	if _, err := zw.Write(payload); err != nil {
		tmp.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// Get reads and decompresses Dir/key.
func (f Folder) Get(_ context.Context, key string) ([]byte, error) {
	p, err := f.path(key)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("archive object %s: %w", key, err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, MaxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("archive object %s: %w", key, err)
	}
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("archive object %s is larger than %d bytes", key, MaxPayload)
	}
	return b, nil
}

// IsNotExist reports whether err says an archive object is missing.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
