package portal

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Scopes an API key may hold. A key holds only what it is given; "*" grants every scope.
const (
	ScopeCatalogRead   = "catalog:read"   // catalog, prices and availability
	ScopeOrdersRead    = "orders:read"    // orders, their history, shipments and tracking
	ScopeOrdersWrite   = "orders:write"   // place, edit and cancel orders; change requests
	ScopeInvoicesRead  = "invoices:read"  // invoices, statement, payment status
	ScopeReturnsRead   = "returns:read"   // return authorisations
	ScopeReturnsWrite  = "returns:write"  // request returns
	ScopeWebhooksAdmin = "webhooks:admin" // manage webhook subscriptions and replay deliveries
)

// AllScopes lists every scope, for `waybill keys create` and the OpenAPI document.
var AllScopes = []string{ScopeCatalogRead, ScopeOrdersRead, ScopeOrdersWrite, ScopeInvoicesRead, ScopeReturnsRead,
	ScopeReturnsWrite, ScopeWebhooksAdmin}

// KeyPrefix starts every API key.
const KeyPrefix = "wbk_"

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewKey returns a new API key as given to the client once ("wbk_<id>_<secret>"), its public id
// and the hash to store. The secret holds 160 random bits, so a plain SHA-256 is a safe hash.
func NewKey() (key, id, hash string) {
	var idb [8]byte
	var sec [20]byte
	if _, err := rand.Read(idb[:]); err != nil {
		panic(err)
	}
	if _, err := rand.Read(sec[:]); err != nil {
		panic(err)
	}
	id, secret := b32.EncodeToString(idb[:]), b32.EncodeToString(sec[:])
	return KeyPrefix + id + "_" + secret, id, HashSecret(secret)
}

// HashSecret returns the stored form of a key's secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ParseKey splits a key into its id and secret; ok is false when it is not shaped like a key.
func ParseKey(key string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(key, KeyPrefix)
	if !found {
		return "", "", false
	}
	id, secret, found = strings.Cut(rest, "_")
	if !found || len(id) != 13 || len(secret) != 32 {
		return "", "", false
	}
	return id, secret, true
}

// secretMatches compares a presented secret with a stored hash in constant time.
func secretMatches(secret, hash string) bool {
	got := HashSecret(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1
}

// CheckScopes returns an error naming the first scope that is not known.
func CheckScopes(scopes []string) error {
	for _, s := range scopes {
		if s != "*" && !slices.Contains(AllScopes, s) {
			return fmt.Errorf("unknown scope %q (known: %s)", s, strings.Join(AllScopes, ", "))
		}
	}
	return nil
}
