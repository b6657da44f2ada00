// Package config loads the hub's YAML configuration: ${VAR} and ${VAR:default} are substituted
// from the environment, unknown keys and wrong types are errors, and every error names the file
// and the field. Secrets come from the environment or from files (fields ending in _file), never
// from the file itself.
package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/retention"
	"github.com/waybill-hub/waybill/internal/telemetry"
	"github.com/waybill-hub/waybill/internal/transport"
)

// Config is the hub's configuration.
type Config struct {
	DataDir  string    `koanf:"data_dir"`
	Listen   string    `koanf:"listen"`
	Database Database  `koanf:"database"`
	Log      Log       `koanf:"log"`
	Pipeline Pipeline  `koanf:"pipeline"`
	ERP      ERP       `koanf:"erp"`
	Partners []Partner `koanf:"partners"`
	Audit    Audit     `koanf:"audit"`
	// PartnersDir holds the trading partner profiles (one YAML file each); EDI and the partner
	// transports are off when it is empty.
	PartnersDir string `koanf:"partners_dir"`
	// MappingsDir replaces the built-in mapping library when set.
	MappingsDir string           `koanf:"mappings_dir"`
	Transport   transport.Config `koanf:"transport"`
	Portal      Portal           `koanf:"portal"`
	Retention   retention.Policy `koanf:"retention"`
	Telemetry   telemetry.Config `koanf:"telemetry"`
	Runtime     Runtime          `koanf:"runtime"`
}

// Runtime paces the Go garbage collector of a hub process; zero values keep Go's defaults, and
// the environment's GOGC and GOMEMLIMIT, when set, win. A hub whose live heap is small spends
// less CPU on collection with a higher GCPercent (400 cut a fifth of the pipeline's CPU), at the
// cost of a heap up to that much larger than what it holds; MemoryLimitMiB bounds that, but a
// live heap that nears the limit makes the collector run all the time, so leave it well above
// what the hub holds.
type Runtime struct {
	GCPercent      int `koanf:"gc_percent"`       // heap growth between collections, in percent (Go's default: 100); -1 leaves it to the memory limit
	MemoryLimitMiB int `koanf:"memory_limit_mib"` // soft limit of the Go heap and runtime; 0 for none
}

// Database selects the store.
type Database struct {
	Driver string `koanf:"driver"` // sqlite (default) or postgres
	URL    string `koanf:"url"`    // postgres URL; a secret: use ${WAYBILL_DATABASE_URL}
}

// Log configures structured logging.
type Log struct {
	Level  string `koanf:"level"`  // debug, info, warn, error
	Format string `koanf:"format"` // text or json
}

// Pipeline tunes the job queue.
type Pipeline struct {
	Workers       int           `koanf:"workers"`
	SyncWorkers   int           `koanf:"sync_workers"` // ERP sync batches run at once (0: 2)
	SyncRate      int           `koanf:"sync_rate"`    // orders synced from the ERP per second at most (0: no limit)
	MaxAttempts   int           `koanf:"max_attempts"`
	BackoffBase   time.Duration `koanf:"backoff_base"`
	BackoffMax    time.Duration `koanf:"backoff_max"`
	PollInterval  time.Duration `koanf:"poll_interval"`
	JobTimeout    time.Duration `koanf:"job_timeout"`
	RescueAfter   time.Duration `koanf:"rescue_after"` // a job running longer is presumed lost and run again
	FairShare     int           `koanf:"fair_share"`   // one partner's jobs at normal priority before the rest wait behind others
	BatchSize     int           `koanf:"batch_size"`
	BatchParallel int           `koanf:"batch_parallel"`
}

// ERP selects and configures the ERP adapter.
type ERP struct {
	Kind string `koanf:"kind"` // memory (built-in, for trials), http (an in-memory ERP served elsewhere), odoo
	URL  string `koanf:"url"`  // for http
	Odoo Odoo   `koanf:"odoo"`
}

// Odoo configures the Odoo connector.
type Odoo struct {
	URL        string        `koanf:"url"`
	Database   string        `koanf:"database"`
	User       string        `koanf:"user"`
	APIKey     string        `koanf:"api_key"`      // secret: from the environment
	APIKeyFile string        `koanf:"api_key_file"` // or from a file
	Protocol   string        `koanf:"protocol"`     // auto, json2, jsonrpc, xmlrpc
	Version    string        `koanf:"version"`      // "17.0", "18.0", "19.0"; empty detects it
	Timeout    time.Duration `koanf:"timeout"`
	// MaxConcurrency and RateLimit bound the load the hub puts on Odoo.
	MaxConcurrency int     `koanf:"max_concurrency"`
	RateLimit      float64 `koanf:"rate_limit"` // calls per second; 0 is unlimited
	// The circuit breaker opens after BreakerFailures consecutive transient failures; jobs then
	// wait BreakerCooldown instead of spending their retries.
	BreakerFailures int           `koanf:"breaker_failures"`
	BreakerCooldown time.Duration `koanf:"breaker_cooldown"`
	Warehouse       string        `koanf:"warehouse"`
	// WebhookSecret verifies Odoo's automation webhooks (a hint to poll at once); a secret.
	WebhookSecret string `koanf:"webhook_secret"`
	// PollInterval is how often change capture polls Odoo's write_date cursors.
	PollInterval time.Duration `koanf:"poll_interval"`
}

// Partner is a partner known to the hub core (the EDI profiles add transport and mapping details).
type Partner struct {
	ID              string `koanf:"id"`
	Name            string `koanf:"name"`
	Account         string `koanf:"account"`
	DuplicatePolicy string `koanf:"duplicate_policy"`
	TimeZone        string `koanf:"time_zone"`
}

// Portal tunes the customer portal API; zero values keep the portal's defaults.
type Portal struct {
	OrderWait           time.Duration `koanf:"order_wait"`           // how long POST /v1/orders waits for the ERP before 202
	RateLimit           int           `koanf:"rate_limit"`           // requests per second per key (keys may set their own)
	Burst               int           `koanf:"burst"`                // token bucket size per key
	AvailabilityRefresh time.Duration `koanf:"availability_refresh"` // how often cached availability is re-read from the ERP
	CatalogTTL          time.Duration `koanf:"catalog_ttl"`          // how long catalogs and prices are served from the cache
	WebhookAttempts     int           `koanf:"webhook_attempts"`     // deliveries tried before a webhook is dead
}

// Audit configures the audit trail sealer.
type Audit struct {
	SealInterval time.Duration `koanf:"seal_interval"`
}

// Default returns the defaults: SQLite in ./waybill-data, loopback listener, the built-in ERP.
func Default() Config {
	return Config{
		DataDir:  "waybill-data",
		Listen:   "127.0.0.1:8080",
		Database: Database{Driver: "sqlite"},
		Log:      Log{Level: "info", Format: "text"},
		Pipeline: Pipeline{Workers: 64, MaxAttempts: 10, BackoffBase: time.Second, BackoffMax: 10 * time.Minute,
			PollInterval: 50 * time.Millisecond, JobTimeout: 2 * time.Minute, RescueAfter: 3 * time.Minute,
			BatchSize: 50, BatchParallel: 4, FairShare: 20, SyncRate: 250},
		ERP: ERP{Kind: "memory", Odoo: Odoo{Protocol: "auto", Timeout: 30 * time.Second, MaxConcurrency: 4,
			BreakerFailures: 5, BreakerCooldown: 30 * time.Second, PollInterval: 30 * time.Second}},
		Audit:     Audit{SealInterval: 2 * time.Second},
		Retention: retention.Default(),
	}
}

// FieldError is a configuration error at one field of one file.
type FieldError struct {
	File  string
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	switch {
	case e.Field == "":
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	default:
		return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Msg)
	}
}

// Errors is every problem found in a configuration, reported together.
type Errors []*FieldError

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Load reads the file at path over the defaults. An empty path returns the defaults. The error,
// when not nil, is an Errors listing every problem.
func Load(path string) (Config, error) {
	cfg := Default()
	if path == "" {
		return cfg, cfg.Validate("defaults")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, Errors{{File: path, Msg: err.Error()}}
	}
	return Parse(path, raw, os.LookupEnv)
}

// Parse is Load for bytes already read; lookup resolves environment variables.
func Parse(file string, raw []byte, lookup func(string) (string, bool)) (Config, error) {
	cfg := Default()
	sub, errs := Substitute(file, raw, lookup)
	if len(errs) > 0 {
		return cfg, errs
	}
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(sub), yaml.Parser()); err != nil {
		return cfg, Errors{{File: file, Msg: "not valid YAML: " + err.Error()}}
	}
	var md mapstructure.Metadata
	err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(mapstructure.StringToTimeDurationHookFunc()),
		ErrorUnused:      true,
		WeaklyTypedInput: false,
		Metadata:         &md,
		Result:           &cfg,
		TagName:          "koanf",
	}})
	if err != nil {
		return cfg, decodeErrors(file, err, k)
	}
	if err := cfg.readSecretFiles(file); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate(file)
}

var mapstructureField = regexp.MustCompile(`'([^']*)'`)

// decodeErrors turns mapstructure's messages into field errors.
func decodeErrors(file string, err error, k *koanf.Koanf) Errors {
	var out Errors
	var msgs []string
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			msgs = append(msgs, e.Error())
		}
	} else {
		msgs = strings.Split(err.Error(), "\n")
	}
	for _, m := range msgs {
		m = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(m), "*"))
		if m == "" || strings.HasSuffix(m, "error(s) decoding:") || strings.HasPrefix(m, "decoding failed due to") {
			continue
		}
		if i := strings.Index(m, "has invalid keys: "); i >= 0 {
			parent := ""
			if f := mapstructureField.FindStringSubmatch(m[:i]); f != nil && !strings.HasPrefix(f[1], "config.") {
				parent = f[1]
			}
			for _, key := range strings.Split(m[i+len("has invalid keys: "):], ", ") {
				field := key
				if parent != "" {
					field = parent + "." + key
				}
				out = append(out, &FieldError{File: file, Field: field, Msg: "unknown key (check its spelling and indentation)"})
			}
			continue
		}
		field := ""
		if f := mapstructureField.FindStringSubmatch(m); f != nil {
			field = f[1]
		}
		msg := m
		if strings.Contains(m, "expected type") {
			want := regexp.MustCompile(`expected type '([^']*)'`).FindStringSubmatch(m)
			got := regexp.MustCompile(`got unconvertible type '([^']*)'(, value: '([^']*)')?`).FindStringSubmatch(m)
			if want != nil && got != nil {
				msg = fmt.Sprintf("expected %s, got %s", friendlyType(want[1]), friendlyType(got[1]))
				if got[3] != "" {
					msg += fmt.Sprintf(" %q", got[3])
				} else if v := k.Get(field); v != nil {
					msg += fmt.Sprintf(" %q", fmt.Sprint(v))
				}
			}
		} else if strings.Contains(m, "time: invalid duration") {
			msg = "expected a duration such as 500ms, 30s or 5m: " + m[strings.Index(m, "time:"):]
		}
		out = append(out, &FieldError{File: file, Field: field, Msg: msg})
	}
	if len(out) == 0 {
		out = Errors{{File: file, Msg: err.Error()}}
	}
	return out
}

func friendlyType(t string) string {
	switch t {
	case "int", "int64", "int32":
		return "a whole number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "[]interface {}", "slice":
		return "a list"
	case "map[string]interface {}", "map":
		return "a mapping"
	case "time.Duration":
		return "a duration"
	}
	return t
}

func (c *Config) readSecretFiles(file string) error {
	if c.ERP.Odoo.APIKeyFile != "" {
		b, err := os.ReadFile(c.ERP.Odoo.APIKeyFile)
		if err != nil {
			return Errors{{File: file, Field: "erp.odoo.api_key_file", Msg: "cannot read the secret: " + err.Error()}}
		}
		c.ERP.Odoo.APIKey = strings.TrimSpace(string(b))
	}
	return nil
}

// Validate checks the values; file names where they came from.
func (c Config) Validate(file string) error {
	var errs Errors
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{File: file, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	switch c.Database.Driver {
	case "sqlite":
		if c.DataDir == "" {
			bad("data_dir", "is required for the sqlite database")
		}
	case "postgres":
		if c.Database.URL == "" {
			bad("database.url", "is required for the postgres driver (set it from the environment: url: ${WAYBILL_DATABASE_URL})")
		}
	default:
		bad("database.driver", "must be sqlite or postgres, got %q", c.Database.Driver)
	}
	if c.Listen == "" {
		bad("listen", "is required (host:port, e.g. 127.0.0.1:8080)")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	p := c.Pipeline
	if p.Workers < 1 || p.Workers > 10000 {
		bad("pipeline.workers", "must be between 1 and 10000, got %d", p.Workers)
	}
	if p.SyncWorkers < 0 || p.SyncWorkers > 10000 {
		bad("pipeline.sync_workers", "must be between 0 (the default, 2) and 10000, got %d", p.SyncWorkers)
	}
	if p.SyncRate < 0 || p.SyncRate > 1000000 {
		bad("pipeline.sync_rate", "must be between 0 (no limit) and 1000000 orders a second, got %d", p.SyncRate)
	}
	if p.MaxAttempts < 1 || p.MaxAttempts > 100 {
		bad("pipeline.max_attempts", "must be between 1 and 100, got %d", p.MaxAttempts)
	}
	if p.BackoffBase <= 0 {
		bad("pipeline.backoff_base", "must be positive")
	}
	if p.BackoffMax < p.BackoffBase {
		bad("pipeline.backoff_max", "must be at least pipeline.backoff_base")
	}
	if p.PollInterval <= 0 {
		bad("pipeline.poll_interval", "must be positive")
	}
	if p.JobTimeout <= 0 {
		bad("pipeline.job_timeout", "must be positive")
	}
	if p.RescueAfter <= p.JobTimeout {
		bad("pipeline.rescue_after", "must be longer than pipeline.job_timeout (%s)", p.JobTimeout)
	}
	if p.FairShare < 0 {
		bad("pipeline.fair_share", "must not be negative (0 turns it off)")
	}
	if p.BatchSize < 1 || p.BatchSize > 1000 {
		bad("pipeline.batch_size", "must be between 1 and 1000, got %d", p.BatchSize)
	}
	if p.BatchParallel < 1 || p.BatchParallel > 64 {
		bad("pipeline.batch_parallel", "must be between 1 and 64, got %d", p.BatchParallel)
	}
	switch c.ERP.Kind {
	case "memory":
	case "http":
		if c.ERP.URL == "" {
			bad("erp.url", "is required when erp.kind is http")
		}
	case "odoo":
		o := c.ERP.Odoo
		if o.URL == "" {
			bad("erp.odoo.url", "is required when erp.kind is odoo")
		}
		if o.Database == "" {
			bad("erp.odoo.database", "is required when erp.kind is odoo")
		}
		if o.User == "" {
			bad("erp.odoo.user", "is required when erp.kind is odoo")
		}
		if o.APIKey == "" {
			bad("erp.odoo.api_key", "is required: set it from the environment (api_key: ${WAYBILL_ODOO_API_KEY}) or a file (api_key_file)")
		}
		switch o.Protocol {
		case "auto", "json2", "jsonrpc", "xmlrpc":
		default:
			bad("erp.odoo.protocol", "must be auto, json2, jsonrpc or xmlrpc, got %q", o.Protocol)
		}
		switch o.Version {
		case "", "17.0", "18.0", "19.0":
		default:
			bad("erp.odoo.version", "must be 17.0, 18.0 or 19.0 (or empty to detect it), got %q", o.Version)
		}
		if o.MaxConcurrency < 1 || o.MaxConcurrency > 256 {
			bad("erp.odoo.max_concurrency", "must be between 1 and 256, got %d", o.MaxConcurrency)
		}
		if o.RateLimit < 0 {
			bad("erp.odoo.rate_limit", "must not be negative")
		}
		if o.BreakerFailures < 1 {
			bad("erp.odoo.breaker_failures", "must be at least 1")
		}
		if o.PollInterval <= 0 {
			bad("erp.odoo.poll_interval", "must be positive")
		}
	default:
		bad("erp.kind", "must be memory, http or odoo, got %q", c.ERP.Kind)
	}
	seen := map[string]bool{}
	for i, pt := range c.Partners {
		f := fmt.Sprintf("partners[%d]", i)
		if pt.ID == "" {
			bad(f+".id", "is required")
		} else if seen[pt.ID] {
			bad(f+".id", "%q is used twice", pt.ID)
		}
		seen[pt.ID] = true
		switch waybill.DuplicatePolicy(pt.DuplicatePolicy) {
		case "", waybill.DuplicateReject, waybill.DuplicateFlag, waybill.DuplicateSupersede:
		default:
			bad(f+".duplicate_policy", "must be reject, flag or supersede, got %q", pt.DuplicatePolicy)
		}
		if pt.TimeZone != "" {
			if _, err := time.LoadLocation(pt.TimeZone); err != nil {
				bad(f+".time_zone", "unknown time zone %q", pt.TimeZone)
			}
		}
	}
	if c.Audit.SealInterval <= 0 {
		bad("audit.seal_interval", "must be positive")
	}
	if g := c.Runtime.GCPercent; g != 0 && g != -1 && (g < 25 || g > 10000) {
		bad("runtime.gc_percent", "must be between 25 and 10000, -1 to collect only near memory_limit_mib, or 0 for Go's default, got %d", g)
	}
	if c.Runtime.GCPercent == -1 && c.Runtime.MemoryLimitMiB == 0 {
		bad("runtime.gc_percent", "-1 needs a memory_limit_mib, or the heap grows without bound")
	}
	if m := c.Runtime.MemoryLimitMiB; m != 0 && m < 32 {
		bad("runtime.memory_limit_mib", "must be at least 32, or 0 for no limit, got %d", m)
	}
	for field, d := range map[string]time.Duration{"portal.order_wait": c.Portal.OrderWait,
		"portal.availability_refresh": c.Portal.AvailabilityRefresh, "portal.catalog_ttl": c.Portal.CatalogTTL} {
		if d < 0 {
			bad(field, "must not be negative")
		}
	}
	if c.Portal.RateLimit < 0 || c.Portal.Burst < 0 || c.Portal.WebhookAttempts < 0 {
		bad("portal", "rate_limit, burst and webhook_attempts must not be negative")
	}
	if err := c.Transport.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			if f, msg, ok := strings.Cut(line, ": "); ok {
				bad(strings.TrimSpace(f), "%s", msg)
			}
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
		return errs
	}
	return nil
}

// DomainPartners converts the configured partners to the domain's.
func (c Config) DomainPartners() map[string]waybill.Partner {
	out := map[string]waybill.Partner{}
	for _, p := range c.Partners {
		dp := waybill.DuplicatePolicy(p.DuplicatePolicy)
		if dp == "" {
			dp = waybill.DuplicateReject
		}
		name := p.Name
		if name == "" {
			name = p.ID
		}
		out[p.ID] = waybill.Partner{ID: p.ID, Name: name, Account: p.Account, DuplicatePolicy: dp, TimeZone: p.TimeZone}
	}
	return out
}
