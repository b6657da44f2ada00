package odoo

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Protocol is the wire protocol a Client speaks.
type Protocol string

const (
	ProtocolAuto    Protocol = "auto"    // JSON-2 on Odoo 19+ with an API key, JSON-RPC otherwise.
	ProtocolJSON2   Protocol = "json2"   // POST /json/2/<model>/<method>, bearer API key (Odoo 19+).
	ProtocolJSONRPC Protocol = "jsonrpc" // POST /jsonrpc, service object, execute_kw (Odoo 8 to 19).
	ProtocolXMLRPC  Protocol = "xmlrpc"  // /xmlrpc/2/common and /xmlrpc/2/object (Odoo 8 to 19).
)

// BreakerConfig configures the circuit breaker: after Failures consecutive transient failures
// the breaker opens for Cooldown, during which calls fail fast; then one probe call is let through.
type BreakerConfig struct {
	Failures int           `koanf:"failures" json:"failures"`
	Cooldown time.Duration `koanf:"cooldown" json:"cooldown"`
}

// Config configures a Client. Its fields must not change after New.
type Config struct {
	URL      string `koanf:"url" json:"url"`           // base URL, e.g. https://erp.example.com
	Database string `koanf:"database" json:"database"` // required unless JSON-2 is used; sent as X-Odoo-Database on JSON-2
	User     string `koanf:"user" json:"user"`         // login; required for JSON-RPC and XML-RPC
	APIKey   string `koanf:"api_key" json:"-"`         // API key (preferred); required for JSON-2
	Password string `koanf:"password" json:"-"`        // password, when no API key is given (not for JSON-2)

	Protocol Protocol `koanf:"protocol" json:"protocol"` // auto (default), json2, jsonrpc, xmlrpc
	Version  string   `koanf:"version" json:"version"`   // "17.0", "18.0", "19.0"; "" detects it

	Timeout        time.Duration `koanf:"timeout" json:"timeout"`                 // per call (default 60s)
	MaxConcurrency int           `koanf:"max_concurrency" json:"max_concurrency"` // calls in flight at once (default 4)
	RateLimit      float64       `koanf:"rate_limit" json:"rate_limit"`           // calls per second; 0 is unlimited
	RateBurst      int           `koanf:"rate_burst" json:"rate_burst"`           // token bucket size (default MaxConcurrency)
	MaxRetries     int           `koanf:"max_retries" json:"max_retries"`         // in-call retries of transient errors (default 2)
	RetryBase      time.Duration `koanf:"retry_base" json:"retry_base"`           // first retry delay, doubled each time (default 200ms)
	RetryMaxWait   time.Duration `koanf:"retry_max_wait" json:"retry_max_wait"`   // cap of one in-call wait, Retry-After included (default 5s)
	Breaker        BreakerConfig `koanf:"breaker" json:"breaker"`

	Warehouse     string        `koanf:"warehouse" json:"warehouse"`           // default warehouse code or name; "" is Odoo's default
	HubRefField   string        `koanf:"hub_ref_field" json:"hub_ref_field"`   // sale.order field holding the hub reference (default origin)
	HubRefPrefix  string        `koanf:"hub_ref_prefix" json:"hub_ref_prefix"` // prefix of the hub reference (default "waybill:")
	GLNField      string        `koanf:"gln_field" json:"gln_field"`           // res.partner field holding a GLN (default barcode)
	PriceDigits   int           `koanf:"price_digits" json:"price_digits"`     // decimal precision "Product Price" (default 2)
	CacheTTL      time.Duration `koanf:"cache_ttl" json:"cache_ttl"`           // master data cache (default 5m)
	ChangeOverlap time.Duration `koanf:"change_overlap" json:"change_overlap"` // write_date look-back of change capture (default 5s)
}

// Default returns a Config with every optional field set to its default.
func Default() Config {
	return Config{
		Protocol:       ProtocolAuto,
		Timeout:        60 * time.Second,
		MaxConcurrency: 4,
		MaxRetries:     2,
		RetryBase:      200 * time.Millisecond,
		Breaker:        BreakerConfig{Failures: 5, Cooldown: 30 * time.Second},
		HubRefField:    "origin",
		HubRefPrefix:   "waybill:",
		GLNField:       "barcode",
		PriceDigits:    2,
		CacheTTL:       5 * time.Minute,
		ChangeOverlap:  5 * time.Second,
	}
}

// withDefaults fills zero fields from Default.
func (c Config) withDefaults() Config {
	d := Default()
	if c.Protocol == "" {
		c.Protocol = d.Protocol
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = d.MaxConcurrency
	}
	if c.RateBurst == 0 {
		c.RateBurst = c.MaxConcurrency
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = d.MaxRetries
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.RetryBase == 0 {
		c.RetryBase = d.RetryBase
	}
	if c.RetryMaxWait == 0 {
		c.RetryMaxWait = 10 * time.Second
	}
	if c.Breaker.Failures == 0 {
		c.Breaker.Failures = d.Breaker.Failures
	}
	if c.Breaker.Cooldown == 0 {
		c.Breaker.Cooldown = d.Breaker.Cooldown
	}
	if c.HubRefField == "" {
		c.HubRefField = d.HubRefField
	}
	if c.HubRefPrefix == "" {
		c.HubRefPrefix = d.HubRefPrefix
	}
	if c.GLNField == "" {
		c.GLNField = d.GLNField
	}
	if c.PriceDigits == 0 {
		c.PriceDigits = d.PriceDigits
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = d.CacheTTL
	}
	if c.ChangeOverlap == 0 {
		c.ChangeOverlap = d.ChangeOverlap
	}
	c.URL = strings.TrimRight(c.URL, "/")
	return c
}

// Validate reports every problem of the configuration at once, naming the fields (odoo.url, ...).
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.URL == "" {
		bad("odoo.url is required")
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("odoo.url must be an http or https URL, got %q", c.URL)
	}
	switch c.Protocol {
	case "", ProtocolAuto, ProtocolJSON2, ProtocolJSONRPC, ProtocolXMLRPC:
	default:
		bad("odoo.protocol must be auto, json2, jsonrpc or xmlrpc, got %q", c.Protocol)
	}
	if c.APIKey == "" && c.Password == "" {
		bad("odoo.api_key (or odoo.password) is required")
	}
	if c.Protocol == ProtocolJSON2 && c.APIKey == "" {
		bad("odoo.api_key is required for protocol json2")
	}
	if c.Protocol == ProtocolJSONRPC || c.Protocol == ProtocolXMLRPC {
		if c.Database == "" {
			bad("odoo.database is required for protocols jsonrpc and xmlrpc")
		}
		if c.User == "" {
			bad("odoo.user is required for protocols jsonrpc and xmlrpc")
		}
	}
	if c.Version != "" {
		if _, err := parseVersion(c.Version); err != nil {
			bad("odoo.version: %v", err)
		}
	}
	if c.Timeout < 0 || c.MaxConcurrency < 0 || c.RateLimit < 0 || c.RateBurst < 0 {
		bad("odoo.timeout, odoo.max_concurrency, odoo.rate_limit and odoo.rate_burst must not be negative")
	}
	if c.Breaker.Failures < 0 || c.Breaker.Cooldown < 0 {
		bad("odoo.breaker.failures and odoo.breaker.cooldown must not be negative")
	}
	return errors.Join(errs...)
}

// version is a parsed Odoo server version.
type version struct{ Major, Minor int }

func parseVersion(s string) (version, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "saas~")
	var v version
	if _, err := fmt.Sscanf(s, "%d.%d", &v.Major, &v.Minor); err != nil {
		if _, err2 := fmt.Sscanf(s, "%d", &v.Major); err2 != nil {
			return v, fmt.Errorf("unrecognised Odoo version %q", s)
		}
	}
	if v.Major < 8 {
		return v, fmt.Errorf("unrecognised Odoo version %q", s)
	}
	return v, nil
}

func (v version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }
