package transport

import (
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill/internal/sftp"
)

// buildSFTP makes the mailbox (when a partner has one or the server is configured), the remotes
// with a poller each, and the uploader.
func (c *Channels) buildSFTP() []error {
	var errs []error
	mailboxes := map[string]sftp.Partner{}
	for _, pt := range c.sorted() {
		s := pt.Transport.SFTP
		if s == nil {
			continue
		}
		where := fmt.Sprintf("partner %s: transport.sftp", pt.ID)
		docType := c.docType(pt)
		if mb := s.Mailbox; mb != nil {
			p := sftp.Partner{ID: pt.ID, PasswordHash: mb.PasswordHash, DocType: docType, Pieces: mb.Pieces}
			if mb.AuthorizedKeysFile != "" {
				data, err := pt.readFile(mb.AuthorizedKeysFile)
				if err == nil {
					_, err = sftp.ParseAuthorizedKeys(data)
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s.mailbox.authorized_keys_file: %w", where, err))
					continue
				}
				p.AuthorizedKeys = data
			}
			if len(p.AuthorizedKeys) == 0 && p.PasswordHash == "" {
				errs = append(errs, fmt.Errorf("%s.mailbox: needs authorized_keys_file or password_hash", where))
				continue
			}
			mailboxes[pt.ID] = p
		}
		if r := s.Remote; r != nil {
			rem := sftp.Remote{Partner: pt.ID, Addr: r.Addr, User: r.User, Password: r.Password, InDir: r.InDir, OutDir: r.OutDir,
				ArchiveDir: r.ArchiveDir, Delete: r.Delete, DocType: docType, Pattern: r.Pattern}
			if r.KeyFile != "" {
				data, err := pt.readFile(r.KeyFile)
				var k ssh.Signer
				if err == nil {
					k, err = parseSSHSigner(r.KeyFile, data)
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s.remote.key_file: %w", where, err))
					continue
				}
				rem.Key = k
			}
			if r.HostKey != "" {
				hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(r.HostKey))
				if err != nil {
					errs = append(errs, fmt.Errorf("%s.remote.host_key: %w", where, err))
					continue
				}
				rem.HostKey = hk
			}
			if err := rem.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s.remote: %w", where, err))
				continue
			}
			c.remotes[pt.ID] = rem
			if rem.InDir != "" {
				if err := rem.ValidatePoll(); err != nil {
					errs = append(errs, fmt.Errorf("%s.remote: %w", where, err))
					continue
				}
				every := r.Interval
				if every <= 0 {
					every = c.cfg.SFTP.PollInterval
				}
				c.pollers = append(c.pollers, &sftp.Poller{Remote: rem, Intake: c.hub, Interval: every, Now: c.cfg.Now,
					Logger: c.log.With("channel", "sftp", "partner", pt.ID)})
			}
		}
	}
	if len(mailboxes) > 0 || c.cfg.SFTP.Listen != "" {
		var hostKey ssh.Signer
		if c.cfg.SFTP.HostKeyFile != "" {
			k, err := LoadSSHSigner(c.cfg.SFTP.HostKeyFile)
			if err != nil {
				return append(errs, fmt.Errorf("transport.sftp.host_key_file: %w", err))
			}
			hostKey = k
		}
		c.mailbox = &sftp.Mailbox{Root: c.cfg.SFTP.Root, ArchiveRoot: c.cfg.SFTP.ArchiveDir, HostKey: hostKey,
			Partners: func(user string) (sftp.Partner, bool) { p, ok := mailboxes[user]; return p, ok },
			Intake:   c.hub, StableFor: c.cfg.SFTP.StableFor, MaxFileSize: c.cfg.SFTP.MaxFileSize, Now: c.cfg.Now,
			Logger: c.log.With("channel", "sftp")}
		if c.cfg.SFTP.Listen != "" {
			if err := c.mailbox.Validate(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if c.mailbox != nil || len(c.remotes) > 0 {
		c.uploader = &sftp.Uploader{Remotes: func(partner string) (sftp.Remote, bool) {
			r, ok := c.remotes[partner]
			return r, ok && r.OutDir != ""
		}, Mailbox: c.mailbox, Now: c.cfg.Now}
	}
	return errs
}

// docType is the document type a partner's files are stored with: csv for a CSV partner, else
// detected by the hub from the content.
func (c *Channels) docType(pt PartnerTransport) string {
	if pt.Transport.CSV != nil {
		return DocCSV
	}
	return ""
}
