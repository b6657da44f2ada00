package partner

import "time"

// Transport is how documents move between the hub and one partner. Any combination of channels
// may be set; outbound documents go over Outbound (the first configured channel when empty).
type Transport struct {
	Outbound string      `yaml:"outbound,omitempty"` // as2, sftp, folder, http
	AS2      *AS2        `yaml:"as2,omitempty"`
	SFTP     *SFTP       `yaml:"sftp,omitempty"`
	CSV      *CSV        `yaml:"csv,omitempty"`
	Folder   *Folder     `yaml:"folder,omitempty"`
	HTTP     *HTTPIntake `yaml:"http,omitempty"`
}

// AS2 is the partner's AS2 profile (RFC 4130).
type AS2 struct {
	AS2ID          string        `yaml:"as2_id"`                  // the partner's AS2-From
	URL            string        `yaml:"url,omitempty"`           // where we POST outbound messages
	CertFiles      []string      `yaml:"cert_files"`              // the partner's certificates, PEM; several during a rollover
	Sign           bool          `yaml:"sign"`                    // sign what we send
	Encrypt        bool          `yaml:"encrypt"`                 // encrypt what we send
	Compress       bool          `yaml:"compress"`                // compress what we send (RFC 5402)
	SignAlg        string        `yaml:"sign_alg,omitempty"`      // sha256 (default), sha384, sha512, sha1 (only with allow_insecure)
	EncAlg         string        `yaml:"enc_alg,omitempty"`       // aes128-cbc, aes256-cbc (default), aes128-gcm, aes256-gcm, 3des (only with allow_insecure)
	AllowInsecure  bool          `yaml:"allow_insecure"`          // accept and use SHA-1 and 3DES
	MDN            string        `yaml:"mdn,omitempty"`           // sync (default), async, none: what we ask for
	SignedMDN      bool          `yaml:"signed_mdn"`              // ask for a signed MDN
	AsyncMDNURL    string        `yaml:"async_mdn_url,omitempty"` // where the partner posts async MDNs to us
	MDNTimeout     time.Duration `yaml:"mdn_timeout,omitempty"`   // how long an async MDN may take
	RequireSigned  bool          `yaml:"require_signed"`          // refuse unsigned inbound messages
	RequireEncrypt bool          `yaml:"require_encrypted"`       // refuse unencrypted inbound messages
}

// SFTP is the partner's SFTP setup: a mailbox on the hub's built-in server, a poller of the
// partner's own server, or both.
type SFTP struct {
	Mailbox *SFTPMailbox `yaml:"mailbox,omitempty"`
	Remote  *SFTPRemote  `yaml:"remote,omitempty"`
}

// SFTPMailbox lets the partner log in to the hub's SFTP server (user name = partner id).
type SFTPMailbox struct {
	AuthorizedKeysFile string `yaml:"authorized_keys_file,omitempty"`
	PasswordHash       string `yaml:"password_hash,omitempty"` // bcrypt, from `waybill sftp hash-password`; only when the partner cannot use keys
	Pieces             bool   `yaml:"pieces"`                  // the partner uploads a file in several sessions: wait for a stable size
}

// SFTPRemote is the partner's own SFTP server, polled by the hub.
type SFTPRemote struct {
	Addr       string        `yaml:"addr"` // host:port
	User       string        `yaml:"user"`
	KeyFile    string        `yaml:"key_file,omitempty"` // our private key, PEM
	Password   string        `yaml:"password,omitempty"` // secret: ${ENV} only
	HostKey    string        `yaml:"host_key"`           // pinned, authorized_keys format
	InDir      string        `yaml:"in_dir"`             // where they leave files for us
	OutDir     string        `yaml:"out_dir"`            // where we leave files for them
	ArchiveDir string        `yaml:"archive_dir,omitempty"`
	Delete     bool          `yaml:"delete"` // delete after storing (else move to archive_dir)
	Pattern    string        `yaml:"pattern,omitempty"`
	Interval   time.Duration `yaml:"interval,omitempty"`
}

// CSV is a CSV partner's column mapping and policy.
type CSV struct {
	MappingFile string `yaml:"mapping_file"`     // csvfeed mapping (YAML) of inbound orders, relative to the profile
	Policy      string `yaml:"policy,omitempty"` // reject-file (default) or accept-good
	// ShipmentMappingFile and InvoiceMappingFile, when set, send the partner a CSV file per ERP
	// delivery done and per invoice posted, over the partner's outbound channel.
	ShipmentMappingFile string `yaml:"shipment_mapping_file,omitempty"`
	InvoiceMappingFile  string `yaml:"invoice_mapping_file,omitempty"`
}

// Folder is a watched folder for an on-premise integration.
type Folder struct {
	Dir        string `yaml:"dir"`
	ArchiveDir string `yaml:"archive_dir,omitempty"`
	OutDir     string `yaml:"out_dir,omitempty"`
	Pattern    string `yaml:"pattern,omitempty"`
}

// HTTPIntake lets the partner POST documents to /intake/<partner id> with a bearer token.
type HTTPIntake struct {
	TokenHash string `yaml:"token_hash"` // SHA-256 of the token, hex; the token itself is never stored
}
