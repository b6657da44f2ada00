package transport

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/partner"
)

// Config holds the hub-wide transport settings (the "transport:" section of the hub config).
// Partner-specific settings live in the partner profiles. The fields below Logger are not
// configuration: callers and tests set them in code.
type Config struct {
	SFTP   SFTPConfig   `yaml:"sftp" koanf:"sftp"`
	AS2    AS2Config    `yaml:"as2" koanf:"as2"`
	Folder FolderConfig `yaml:"folder" koanf:"folder"`
	HTTP   HTTPConfig   `yaml:"http" koanf:"http"`

	Logger *slog.Logger     `yaml:"-" koanf:"-"`
	Now    func() time.Time `yaml:"-" koanf:"-"`
	// Client posts outbound AS2 messages and asynchronous MDNs; a client with a 2-minute timeout
	// when nil.
	Client *http.Client `yaml:"-" koanf:"-"`
}

// SFTPConfig configures the built-in SFTP mailbox and the pollers.
type SFTPConfig struct {
	// Listen is the mailbox's address ("127.0.0.1:2022", ":2022"); "" runs no mailbox server
	// (outbound files for mailbox partners are still written to their out/ folders).
	Listen string `yaml:"listen" koanf:"listen"`
	// HostKeyFile is the server's private host key (OpenSSH or PEM format), required with
	// Listen; make one with `waybill sftp host-key`.
	HostKeyFile string `yaml:"host_key_file" koanf:"host_key_file"`
	// Root holds the partner folders Root/<id>/in and out; default <data_dir>/sftp.
	Root string `yaml:"root" koanf:"root"`
	// ArchiveDir receives taken files (ArchiveDir/<id>/<UTC day>/); default <data_dir>/archive/sftp.
	ArchiveDir string `yaml:"archive_dir" koanf:"archive_dir"`
	// StableFor is how long a file must stay unchanged before the sweeper takes it without a
	// close (partners uploading in pieces, files left at a restart). Default 30s.
	StableFor time.Duration `yaml:"stable_for" koanf:"stable_for"`
	// MaxFileSize bounds one uploaded file. Default 256 MiB.
	MaxFileSize int64 `yaml:"max_file_size" koanf:"max_file_size"`
	// PollInterval is the default pause between polls of a partner's server. Default 1 minute;
	// negative runs no background pollers (the caller runs Pollers()[i].Poll).
	PollInterval time.Duration `yaml:"poll_interval" koanf:"poll_interval"`
}

// AS2Config is our AS2 station.
type AS2Config struct {
	// AS2ID is our AS2 name (AS2-To on what partners send us). "" disables AS2.
	AS2ID string `yaml:"as2_id" koanf:"as2_id"`
	// CertFiles and KeyFiles are our certificates (PEM) and their private keys (PEM, PKCS#1,
	// PKCS#8 or EC), pairwise. Several pairs during a rollover: the newest valid one signs, any
	// valid one decrypts. Make one with `waybill as2 new-cert`.
	CertFiles []string `yaml:"cert_files" koanf:"cert_files"`
	KeyFiles  []string `yaml:"key_files" koanf:"key_files"`
	// Path is where partners post messages (default /as2); MDNPath where they post asynchronous
	// MDNs (default /as2/mdn).
	Path    string `yaml:"path" koanf:"path"`
	MDNPath string `yaml:"mdn_path" koanf:"mdn_path"`
	// MaxBodyBytes bounds one inbound message (default 64 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes" koanf:"max_body_bytes"`
	// CheckEvery is how often overdue asynchronous MDNs are turned into dead letters (default 30s).
	CheckEvery time.Duration `yaml:"check_every" koanf:"check_every"`
	// ExpiryWarning is how long before a certificate expires the hub logs a warning at each
	// check (default 30 days). The metric waybill_as2_certificate_expiry_seconds is always exported.
	ExpiryWarning time.Duration `yaml:"expiry_warning" koanf:"expiry_warning"`
}

// FolderConfig configures the watched folders.
type FolderConfig struct {
	// ArchiveDir receives taken files when a profile names none (ArchiveDir/<id>/<UTC day>/);
	// default <data_dir>/archive/folder.
	ArchiveDir string `yaml:"archive_dir" koanf:"archive_dir"`
	// Interval is the pause between scans (default 5s; negative: no background scan, the caller
	// runs Watcher().Scan). StableFor is how long a file must stay unchanged before it is taken
	// (default 10s; negative means 0, for writers that rename into place).
	Interval  time.Duration `yaml:"interval" koanf:"interval"`
	StableFor time.Duration `yaml:"stable_for" koanf:"stable_for"`
}

// HTTPConfig configures the HTTP intake.
type HTTPConfig struct {
	// MaxBodyBytes bounds one posted document (default 64 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes" koanf:"max_body_bytes"`
}

// Default returns the defaults, with folders under dataDir.
func Default(dataDir string) Config {
	return Config{
		SFTP: SFTPConfig{Root: filepath.Join(dataDir, "sftp"), ArchiveDir: filepath.Join(dataDir, "archive", "sftp"),
			StableFor: 30 * time.Second, MaxFileSize: 256 << 20, PollInterval: time.Minute},
		AS2:    AS2Config{Path: "/as2", MDNPath: "/as2/mdn", MaxBodyBytes: 64 << 20, CheckEvery: 30 * time.Second, ExpiryWarning: 30 * 24 * time.Hour},
		Folder: FolderConfig{ArchiveDir: filepath.Join(dataDir, "archive", "folder"), Interval: 5 * time.Second, StableFor: 10 * time.Second},
		HTTP:   HTTPConfig{MaxBodyBytes: 64 << 20},
	}
}

// withDefaults fills what is zero from Default(dataDir) ("" data dir: the current directory).
func (c Config) withDefaults() Config {
	d := Default("waybill-data")
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	setD := func(dst *time.Duration, v time.Duration) {
		if *dst == 0 {
			*dst = v
		}
	}
	set(&c.SFTP.Root, d.SFTP.Root)
	set(&c.SFTP.ArchiveDir, d.SFTP.ArchiveDir)
	setD(&c.SFTP.StableFor, d.SFTP.StableFor)
	setD(&c.SFTP.PollInterval, d.SFTP.PollInterval)
	if c.SFTP.MaxFileSize == 0 {
		c.SFTP.MaxFileSize = d.SFTP.MaxFileSize
	}
	set(&c.AS2.Path, d.AS2.Path)
	set(&c.AS2.MDNPath, d.AS2.MDNPath)
	if c.AS2.MaxBodyBytes == 0 {
		c.AS2.MaxBodyBytes = d.AS2.MaxBodyBytes
	}
	setD(&c.AS2.CheckEvery, d.AS2.CheckEvery)
	setD(&c.AS2.ExpiryWarning, d.AS2.ExpiryWarning)
	set(&c.Folder.ArchiveDir, d.Folder.ArchiveDir)
	setD(&c.Folder.Interval, d.Folder.Interval)
	setD(&c.Folder.StableFor, d.Folder.StableFor)
	if c.HTTP.MaxBodyBytes == 0 {
		c.HTTP.MaxBodyBytes = d.HTTP.MaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = func() time.Time { return time.Now().UTC() }
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 2 * time.Minute}
	}
	return c
}

// Validate reports every problem of the hub-wide settings together, each naming its key.
func (c Config) Validate() error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("transport.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.SFTP.Listen != "" && c.SFTP.HostKeyFile == "" {
		bad("sftp.host_key_file", "is required when sftp.listen is set")
	}
	if c.AS2.AS2ID != "" {
		if len(c.AS2.CertFiles) == 0 {
			bad("as2.cert_files", "at least one certificate is required when as2.as2_id is set")
		}
		if len(c.AS2.CertFiles) != len(c.AS2.KeyFiles) {
			bad("as2.key_files", "must list one key per certificate (%d certificates, %d keys)", len(c.AS2.CertFiles), len(c.AS2.KeyFiles))
		}
	}
	for key, d := range map[string]time.Duration{"sftp.stable_for": c.SFTP.StableFor, "as2.check_every": c.AS2.CheckEvery} {
		if d < 0 {
			bad(key, "must not be negative")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return waybill.Errorf(waybill.EINVALID, "transport_config", "%s", joinLines(errs))
}

func joinLines(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}

// PartnerTransport is one partner's transport section and where its profile lives.
type PartnerTransport struct {
	ID        string
	Transport partner.Transport
	// Dir is the profile's directory: relative names of files the profile refers to
	// (certificates, keys, authorized keys, CSV mappings) are relative to it. Folders (folder.dir,
	// archive_dir, out_dir) are used as written: relative ones are relative to the working
	// directory, as the sample profiles' ${WAYBILL_DATA:waybill-data}/folder/... expect.
	Dir string
	// ReadFile, when set, reads those relative file names instead of Dir (profiles embedded in
	// the binary); absolute names are always read from disk.
	ReadFile func(name string) ([]byte, error)
}

// readFile reads a file the profile names.
func (p PartnerTransport) readFile(name string) ([]byte, error) {
	if !filepath.IsAbs(name) && p.ReadFile != nil {
		return p.ReadFile(name)
	}
	return os.ReadFile(p.path(name))
}

// path resolves a file name of the profile on disk.
func (p PartnerTransport) path(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(p.Dir, name)
}

// FromRegistry returns the transport section of every loaded partner profile, in id order, with
// file names resolved against the profile's directory (or the registry's embedded files).
func FromRegistry(reg *partner.Registry) []PartnerTransport {
	var out []PartnerTransport
	for _, id := range reg.IDs() {
		p, ok := reg.Profile(id)
		if !ok {
			continue
		}
		out = append(out, PartnerTransport{ID: p.ID, Transport: p.Transport, Dir: filepath.Dir(p.File()),
			ReadFile: func(name string) ([]byte, error) { return reg.ReadFile(p, name) }})
	}
	return out
}
