package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/as2"
	"github.com/waybill-hub/waybill/internal/csvfeed"
	"github.com/waybill-hub/waybill/internal/folder"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/sftp"
)

// DocCSV is the document type of CSV files; the hub decodes them with the partner's csvfeed
// mapping.
const DocCSV = "csv"

// Channels is every configured channel of the hub. Build it with New, add its HTTP endpoints with
// Mount, then Start it; Stop stops what Start started. Its methods are safe for concurrent use.
type Channels struct {
	cfg      Config
	hub      *hub.Hub
	log      *slog.Logger
	partners map[string]PartnerTransport

	// AS2
	station     *as2.Station
	as2Partners *as2.Partners
	receiver    *as2.Receiver
	sender      *as2.Sender

	// HTTP intake: partner → SHA-256 of its token
	tokens map[string][]byte

	// SFTP
	mailbox   *sftp.Mailbox
	remotes   map[string]sftp.Remote
	pollers   []*sftp.Poller
	uploader  *sftp.Uploader
	mailboxLn net.Listener

	// folders
	watcher *folder.Watcher
	outDirs map[string]string

	// CSV mappings by partner
	mappings map[string]*csvfeed.Mapping
	csvOut   map[string]csvOut

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New builds the channels configured by cfg and the partner profiles, registers the outbound
// senders (as2, sftp, folder) and the "csv" decoder with h, and checks every file the profiles
// name (certificates, keys, mappings). It reports all profile problems together. It starts
// nothing.
func New(cfg Config, h *hub.Hub, profiles []PartnerTransport) (*Channels, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Channels{cfg: cfg, hub: h, log: cfg.Logger.With("component", "transport"), partners: map[string]PartnerTransport{},
		tokens: map[string][]byte{}, remotes: map[string]sftp.Remote{}, outDirs: map[string]string{}, mappings: map[string]*csvfeed.Mapping{}}
	var errs []error
	for _, p := range profiles {
		if p.ID == "" {
			errs = append(errs, errors.New("transport: a partner profile has no id"))
			continue
		}
		if _, dup := c.partners[p.ID]; dup {
			errs = append(errs, fmt.Errorf("transport: partner %s is listed twice", p.ID))
			continue
		}
		c.partners[p.ID] = p
	}
	for _, build := range []func() []error{c.buildCSV, c.buildCSVOut, c.buildAS2, c.buildHTTP, c.buildSFTP, c.buildFolders} {
		errs = append(errs, build()...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, waybill.Errorf(waybill.EINVALID, "transport_config", "%v", err)
	}
	h.RegisterDecoder(DocCSV, c.decodeCSV)
	if len(c.csvOut) > 0 {
		h.OnSync(c.onSyncCSV)
	}
	if c.sender != nil {
		h.RegisterSender(waybill.ChannelAS2, c.sender)
	}
	if c.uploader != nil {
		h.RegisterSender(waybill.ChannelSFTP, c.uploader)
	}
	if len(c.outDirs) > 0 {
		h.RegisterSender(waybill.ChannelFolder, folderSender{dirs: c.outDirs, now: cfg.Now})
	}
	return c, nil
}

// sorted returns the profiles in id order, so that errors and goroutines come in a stable order.
func (c *Channels) sorted() []PartnerTransport {
	out := make([]PartnerTransport, 0, len(c.partners))
	for _, p := range c.partners {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Mount adds the HTTP endpoints to mux: the AS2 receiver (POST cfg.AS2.Path) and asynchronous
// MDN endpoint (POST cfg.AS2.MDNPath) when an AS2 station is configured, and the HTTP intake
// (POST /intake/{partner}) when a partner has one.
func (c *Channels) Mount(mux *http.ServeMux) {
	if c.receiver != nil {
		mux.Handle("POST "+c.cfg.AS2.Path, c.receiver)
		mux.Handle("POST "+c.cfg.AS2.MDNPath, c.sender.MDNHandler())
	}
	if len(c.tokens) > 0 {
		mux.Handle("POST /intake/{partner}", http.HandlerFunc(c.serveIntake))
	}
}

// Start starts the SFTP mailbox server (when cfg.SFTP.Listen is set), a poller per partner
// server, the folder watcher and the AS2 MDN deadline check. Background work runs until Stop.
func (c *Channels) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("transport: already started")
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if c.mailbox != nil && c.cfg.SFTP.Listen != "" {
		ln, err := net.Listen("tcp", c.cfg.SFTP.Listen)
		if err != nil {
			cancel()
			return fmt.Errorf("transport: sftp listening on %s: %w", c.cfg.SFTP.Listen, err)
		}
		c.mailboxLn = ln
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if err := c.mailbox.Serve(ln); err != nil && !errors.Is(err, sftp.ErrMailboxClosed) {
				c.log.Error("sftp mailbox stopped", "error", err)
			}
		}()
	}
	for _, p := range c.pollers {
		if c.cfg.SFTP.PollInterval < 0 {
			break
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if err := p.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
				c.log.Error("sftp poller stopped", "partner", p.Remote.Partner, "error", err)
			}
		}()
	}
	if c.watcher != nil && c.cfg.Folder.Interval > 0 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if err := c.watcher.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
				c.log.Error("folder watcher stopped", "error", err)
			}
		}()
	}
	if c.sender != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.as2Loop(bg)
		}()
	}
	c.cancel, c.started = cancel, true
	return nil
}

// Stop stops the background work and the mailbox server, and waits (until ctx ends) for
// asynchronous MDNs being posted.
func (c *Channels) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return nil
	}
	c.started = false
	c.cancel()
	var err error
	if c.mailbox != nil {
		err = c.mailbox.Close()
	}
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		if c.receiver != nil {
			c.receiver.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	return err
}

// SFTPAddr returns the mailbox server's address once started ("" when none runs).
func (c *Channels) SFTPAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mailboxLn == nil {
		return ""
	}
	return c.mailboxLn.Addr().String()
}

// Mailbox returns the built-in SFTP mailbox (nil when no partner has one), for Sweep in tests and
// operations.
func (c *Channels) Mailbox() *sftp.Mailbox { return c.mailbox }

// Watcher returns the folder watcher (nil when no partner has a folder).
func (c *Channels) Watcher() *folder.Watcher { return c.watcher }

// Pollers returns the SFTP pollers, one per partner server.
func (c *Channels) Pollers() []*sftp.Poller { return c.pollers }

// AS2Sender returns the AS2 sender (nil without an AS2 station).
func (c *Channels) AS2Sender() *as2.Sender { return c.sender }
