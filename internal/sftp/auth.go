package sftp

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"regexp"
	"sync"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
)

// validID is what a partner id must look like to name its folder: no separators, no leading dot.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// HashPassword returns the bcrypt hash to store as [Partner.PasswordHash].
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}
	return string(h), nil
}

var (
	dummyOnce sync.Once
	dummyHash []byte
)

// checkPassword compares password with hash in constant time (bcrypt's). With an empty hash it
// still spends the time of one comparison, so the answer does not tell which users exist.
func checkPassword(hash string, password []byte) bool {
	if hash == "" {
		dummyOnce.Do(func() {
			dummyHash, _ = bcrypt.GenerateFromPassword([]byte("waybill-dummy"), bcrypt.DefaultCost)
		})
		_ = bcrypt.CompareHashAndPassword(dummyHash, password)
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), password) == nil
}

// ParseAuthorizedKeys parses keys in OpenSSH authorized_keys format (options are ignored).
func ParseAuthorizedKeys(data []byte) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	rest := bytes.TrimSpace(data)
	for len(rest) > 0 {
		k, _, _, r, err := ssh.ParseAuthorizedKey(rest)
		if err != nil {
			return nil, fmt.Errorf("parsing authorized key %d: %w", len(keys)+1, err)
		}
		keys = append(keys, k)
		rest = bytes.TrimSpace(r)
	}
	return keys, nil
}

// keyAllowed reports whether key is one of the partner's authorized keys, comparing the wire
// forms in constant time.
func keyAllowed(authorized []byte, key ssh.PublicKey) bool {
	keys, err := ParseAuthorizedKeys(authorized)
	if err != nil {
		return false
	}
	want := key.Marshal()
	ok := 0
	for _, k := range keys {
		ok |= subtle.ConstantTimeCompare(k.Marshal(), want)
	}
	return ok == 1
}
