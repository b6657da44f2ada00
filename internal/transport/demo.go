package transport

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/as2"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/store"
)

// DemoOptions names the sample partners of DemoExchange. They must be partners the hub knows
// (hub.Partners) with accounts the ERP knows; Items must be item codes the ERP knows.
type DemoOptions struct {
	Dir         string   // where keys, certificates, mailboxes and archives go; required
	AS2Partner  string   // sends an order over AS2; default "acme-retail"
	SFTPPartner string   // puts an order JSON on the SFTP mailbox; default "globex"
	CSVPartner  string   // puts a CSV file on the SFTP mailbox; default AS2Partner
	Items       []string // two item codes; default WID-100, WID-200
	Logger      *slog.Logger
}

// Demo is the running demo channels: an AS2 station and an SFTP mailbox on loopback that keep
// serving until Stop.
type Demo struct {
	ch       *Channels
	srv      *http.Server
	partner  *http.Server
	SFTPAddr string // the mailbox, e.g. 127.0.0.1:40123
	AS2URL   string // the hub's AS2 endpoint
	KeyFile  string // the SFTP partner's private key (OpenSSH format), for `sftp -i`
}

// Stop stops the demo's channels and servers.
func (d *Demo) Stop(ctx context.Context) error {
	err := d.ch.Stop(ctx)
	return errors.Join(err, d.srv.Shutdown(ctx), d.partner.Shutdown(ctx))
}

// DemoExchange runs the transports on loopback against the running hub h and exchanges documents
// with sample partners, printing what happened to out: an order sent over AS2 by a second,
// in-process AS2 station playing the partner (signed, encrypted, signed MDN); an order JSON put
// on the built-in SFTP mailbox by a real SFTP client session; a CSV file with a bad row from a
// CSV partner (policy accept-good: the bad row is reported with its row and column). It waits for
// the orders to leave the pipeline, then sends an acknowledgement back over AS2 and over SFTP.
// The channels keep serving until Demo.Stop. The hub's job queue must be running.
func DemoExchange(ctx context.Context, h *hub.Hub, out io.Writer, opts DemoOptions) (*Demo, error) {
	if opts.Dir == "" {
		return nil, errors.New("demo: a directory is required")
	}
	if opts.AS2Partner == "" {
		opts.AS2Partner = "acme-retail"
	}
	if opts.SFTPPartner == "" {
		opts.SFTPPartner = "globex"
	}
	if opts.CSVPartner == "" {
		opts.CSVPartner = opts.AS2Partner
	}
	if len(opts.Items) < 2 {
		opts.Items = []string{"WID-100", "WID-200"}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dir := opts.Dir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	k, err := demoKeys(dir)
	if err != nil {
		return nil, err
	}

	// The AS2 partner's own station and server: it receives what the hub sends.
	partnerInbox := &demoInbox{}
	peers, _ := as2.NewPartners()
	partnerLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	partnerSrv := &http.Server{Handler: as2.NewReceiver(k.partnerStation, peers, partnerInbox, as2.ReceiverOptions{Logger: opts.Logger}),
		ReadHeaderTimeout: 10 * time.Second}
	go partnerSrv.Serve(partnerLn)
	partnerURL := "http://" + partnerLn.Addr().String() + "/as2"

	profiles := []PartnerTransport{
		{ID: opts.AS2Partner, Dir: dir, Transport: partner.Transport{AS2: &partner.AS2{AS2ID: "DEMO-PARTNER", URL: partnerURL,
			CertFiles: []string{"partner-as2.crt"}, Sign: true, Encrypt: true, SignedMDN: true, MDNTimeout: 30 * time.Second}}},
		{ID: opts.SFTPPartner, Dir: dir, Transport: partner.Transport{SFTP: &partner.SFTP{Mailbox: &partner.SFTPMailbox{AuthorizedKeysFile: "sftp-partner.pub"}}}},
	}
	csvT := &partner.CSV{MappingFile: "csv-mapping.yaml", Policy: "accept-good"}
	mb := &partner.SFTP{Mailbox: &partner.SFTPMailbox{AuthorizedKeysFile: "sftp-partner.pub"}}
	if opts.CSVPartner == opts.AS2Partner {
		profiles[0].Transport.CSV, profiles[0].Transport.SFTP = csvT, mb
	} else {
		profiles = append(profiles, PartnerTransport{ID: opts.CSVPartner, Dir: dir, Transport: partner.Transport{CSV: csvT, SFTP: mb}})
	}
	cfg := Config{
		SFTP: SFTPConfig{Listen: "127.0.0.1:0", HostKeyFile: filepath.Join(dir, "sftp_host_key"), Root: filepath.Join(dir, "sftp"),
			ArchiveDir: filepath.Join(dir, "archive", "sftp"), PollInterval: -1},
		AS2:    AS2Config{AS2ID: "WAYBILL-DEMO", CertFiles: []string{filepath.Join(dir, "hub-as2.crt")}, KeyFiles: []string{filepath.Join(dir, "hub-as2.key")}},
		Folder: FolderConfig{Interval: -1},
		Logger: opts.Logger,
	}
	ch, err := New(cfg, h, profiles)
	if err != nil {
		partnerSrv.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	ch.Mount(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		partnerSrv.Close()
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	if err := ch.Start(ctx); err != nil {
		srv.Close()
		partnerSrv.Close()
		return nil, err
	}
	d := &Demo{ch: ch, srv: srv, partner: partnerSrv, SFTPAddr: ch.SFTPAddr(), AS2URL: "http://" + ln.Addr().String() + "/as2",
		KeyFile: filepath.Join(dir, "sftp-partner_ed25519")}
	if err := d.exchange(ctx, h, out, opts, k, peers, partnerInbox); err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		d.Stop(sctx)
		return nil, err
	}
	return d, nil
}

func (d *Demo) exchange(ctx context.Context, h *hub.Hub, out io.Writer, opts DemoOptions, k *demoKeySet, peers *as2.Partners, inbox *demoInbox) error {
	stamp := time.Now().UTC().Format("150405")
	po := func(s string) string { return s + "-" + stamp }
	order := func(number string, lines ...[2]string) []byte {
		o := waybill.Order{PONumber: number, PODate: time.Now().UTC().Truncate(24 * time.Hour), Currency: "USD"}
		for i, l := range lines {
			o.Lines = append(o.Lines, waybill.Line{Number: fmt.Sprint(i + 1), VendorItem: l[0], Quantity: waybill.MustDecimal(l[1]), UOM: "EA"})
		}
		b, _ := json.Marshal(o)
		return b
	}
	fmt.Fprintf(out, "Transports on loopback: AS2 %s (station WAYBILL-DEMO), SFTP mailbox %s\n", d.AS2URL, d.SFTPAddr)

	// 1. AS2: the partner's own station sends an order; the MDN comes back once the hub stored it.
	if err := peers.Put(&as2.Partner{ID: "hub", AS2ID: "WAYBILL-DEMO", URL: d.AS2URL, TheirCerts: []*x509.Certificate{k.hubCert},
		Sign: true, Encrypt: true, SignedMDN: true, MDNTimeout: 30 * time.Second}); err != nil {
		return err
	}
	snd := as2.NewSender(k.partnerStation, peers, nil, nil)
	as2PO := po("AS2")
	res, err := snd.Send(ctx, waybill.OutboundMessage{ID: as2PO, Partner: "hub", DocType: "order-json", ContentType: "application/json",
		Filename: as2PO + ".json", Payload: order(as2PO, [2]string{opts.Items[0], "12"})})
	if err != nil {
		return fmt.Errorf("demo: sending over AS2: %w", err)
	}
	fmt.Fprintf(out, "  AS2   %-12s order %s signed+encrypted → MDN %q (signed %s, MIC %s)\n", opts.AS2Partner, as2PO,
		res.Meta[as2.MetaMDNDisposition], res.Meta[as2.MetaMDNSigned], res.Meta[as2.MetaMDNMIC])

	// 2. SFTP: a real SFTP client session puts an order JSON in the mailbox.
	client, closeClient, err := demoSFTP(d.SFTPAddr, opts.SFTPPartner, k)
	if err != nil {
		return err
	}
	sftpPO := po("SFTP")
	if err := demoPut(client, "/in/"+sftpPO+".json", order(sftpPO, [2]string{opts.Items[1], "30"}, [2]string{opts.Items[0], "6"})); err != nil {
		closeClient()
		return err
	}
	closeClient()
	fmt.Fprintf(out, "  SFTP  %-12s put in/%s.json with a real SFTP session → stored on close, archived\n", opts.SFTPPartner, sftpPO)

	// 3. CSV: the CSV partner's file, one row of which is bad.
	csvA, csvB, csvBad := po("CSV-A"), po("CSV-B"), po("CSV-C")
	csvFile := "PO;Item;Qty;Unit\n" +
		csvA + ";" + opts.Items[0] + ";5;EA\n" + csvA + ";" + opts.Items[1] + ";2,5;EA\n" +
		csvBad + ";" + opts.Items[0] + ";three;EA\n" +
		csvB + ";" + opts.Items[1] + ";8;EA\n"
	client, closeClient, err = demoSFTP(d.SFTPAddr, opts.CSVPartner, k)
	if err != nil {
		return err
	}
	err = demoPut(client, "/in/orders-"+stamp+".csv", []byte(csvFile))
	closeClient()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  CSV   %-12s put in/orders-%s.csv (3 orders, one with a bad quantity) over SFTP\n", opts.CSVPartner, stamp)

	// Wait for the pipeline.
	pos := []string{as2PO, sftpPO, csvA, csvB}
	states, err := waitOrders(ctx, h, pos, 30*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "  Orders:")
	for _, p := range pos {
		fmt.Fprintf(out, "    %-22s %s\n", p, states[p])
	}
	msgs, _ := h.DB().Messages(ctx, store.MessageFilter{Partner: opts.CSVPartner})
	for _, m := range msgs {
		if m.DocType != DocCSV {
			continue
		}
		rows, _ := RowErrors(ctx, h.DB(), m)
		for _, r := range rows {
			fmt.Fprintf(out, "    %-22s not accepted: %v\n", csvBad, r["text"])
		}
	}

	// 4. Back to the partners: an acknowledgement over AS2 and over SFTP.
	var as2Out, sftpOut string
	err = h.DB().InTx(ctx, func(tx *store.Tx) error {
		var err error
		if as2Out, err = h.Emit(ctx, tx, &waybill.OutboundMessage{Partner: opts.AS2Partner, Channel: waybill.ChannelAS2, DocType: "855",
			Filename: "ack-" + as2PO + ".edi", Payload: []byte("order " + as2PO + " acknowledged\n")}, as2PO); err != nil {
			return err
		}
		sftpOut, err = h.Emit(ctx, tx, &waybill.OutboundMessage{Partner: opts.SFTPPartner, Channel: waybill.ChannelSFTP, DocType: "855",
			Filename: "ack-" + sftpPO + ".edi", Payload: []byte("order " + sftpPO + " acknowledged\n")}, sftpPO)
		return err
	})
	if err != nil {
		return err
	}
	for _, id := range []string{as2Out, sftpOut} {
		m, err := waitSent(ctx, h, id, 30*time.Second)
		if err != nil {
			return err
		}
		switch m.Channel {
		case waybill.ChannelAS2:
			fmt.Fprintf(out, "  AS2   → %-10s %s: MDN %q, recorded in the trace (the partner got %d message)\n", opts.AS2Partner, m.Filename,
				m.Meta[as2.MetaMDNDisposition], len(inbox.received()))
		default:
			fmt.Fprintf(out, "  SFTP  → %-10s %s: in the mailbox's out/ (written under a temporary name, then renamed)\n", opts.SFTPPartner, m.Filename)
		}
	}
	fmt.Fprintf(out, "  Try it: sftp -i %s -P %s %s@127.0.0.1   (host key: %s)\n", d.KeyFile, portOf(d.SFTPAddr), opts.SFTPPartner,
		strings.TrimSpace(string(k.hostPub)))
	return nil
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func waitOrders(ctx context.Context, h *hub.Hub, pos []string, timeout time.Duration) (map[string]waybill.OrderState, error) {
	deadline := time.Now().Add(timeout)
	for {
		states := map[string]waybill.OrderState{}
		done := true
		for _, p := range pos {
			list, err := h.DB().Orders(ctx, store.OrderFilter{PONumber: p})
			if err != nil {
				return nil, err
			}
			if len(list) == 0 {
				done = false
				continue
			}
			st := list[0].Order.State
			states[p] = st
			if st == waybill.OrderReceived || st == waybill.OrderValidated {
				done = false
			}
		}
		if done {
			return states, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("demo: orders not through the pipeline within %s: %v", timeout, states)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func waitSent(ctx context.Context, h *hub.Hub, id string, timeout time.Duration) (*store.Message, error) {
	deadline := time.Now().Add(timeout)
	for {
		m, err := h.DB().Message(ctx, id)
		if err != nil {
			return nil, err
		}
		switch m.State {
		case store.MessageSent, store.MessageAcked:
			return m, nil
		case store.MessageDead:
			return nil, fmt.Errorf("demo: sending %s failed; see `waybill dlq list`", id)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("demo: %s not sent within %s", id, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

const demoMapping = `name: demo-csv-orders
document: order
delimiter: ";"
decimal_comma: true
columns:
  - {field: po_number, header: PO, required: true}
  - {field: line.vendor_item, header: Item, required: true}
  - {field: line.quantity, header: Qty, required: true}
  - {field: line.uom, header: Unit, default: EA}
`

type demoKeySet struct {
	partnerStation *as2.Station
	hubCert        *x509.Certificate
	sftpKey        ssh.Signer
	hostKey        ssh.PublicKey
	hostPub        []byte
}

// demoKeys writes the demo's certificates, keys and mapping into dir.
func demoKeys(dir string) (*demoKeySet, error) {
	write := func(name string, data []byte) error { return os.WriteFile(filepath.Join(dir, name), data, 0o600) }
	var k demoKeySet
	for _, s := range []struct{ id, base string }{{"WAYBILL-DEMO", "hub-as2"}, {"DEMO-PARTNER", "partner-as2"}} {
		c, key, err := NewCertificate(s.id, time.Now().Add(-time.Hour), 365*24*time.Hour)
		if err != nil {
			return nil, err
		}
		if err := errors.Join(write(s.base+".crt", c), write(s.base+".key", key)); err != nil {
			return nil, err
		}
	}
	hub, err := LoadStation(AS2Config{AS2ID: "WAYBILL-DEMO", CertFiles: []string{filepath.Join(dir, "hub-as2.crt")}, KeyFiles: []string{filepath.Join(dir, "hub-as2.key")}})
	if err != nil {
		return nil, err
	}
	k.hubCert = hub.Certs[0].Cert
	if k.partnerStation, err = LoadStation(AS2Config{AS2ID: "DEMO-PARTNER", CertFiles: []string{filepath.Join(dir, "partner-as2.crt")},
		KeyFiles: []string{filepath.Join(dir, "partner-as2.key")}}); err != nil {
		return nil, err
	}
	hostPriv, hostPub, err := NewHostKey()
	if err != nil {
		return nil, err
	}
	if err := write("sftp_host_key", hostPriv); err != nil {
		return nil, err
	}
	k.hostPub = hostPub
	if k.hostKey, _, _, _, err = ssh.ParseAuthorizedKey(hostPub); err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if k.sftpKey, err = ssh.NewSignerFromKey(priv); err != nil {
		return nil, err
	}
	pb, err := ssh.MarshalPrivateKey(priv, "waybill demo sftp partner")
	if err != nil {
		return nil, err
	}
	if err := errors.Join(write("sftp-partner_ed25519", pem.EncodeToMemory(pb)), write("sftp-partner.pub", ssh.MarshalAuthorizedKey(k.sftpKey.PublicKey())),
		write("csv-mapping.yaml", []byte(demoMapping))); err != nil {
		return nil, err
	}
	return &k, nil
}

func demoSFTP(addr, user string, k *demoKeySet) (*pkgsftp.Client, func(), error) {
	conn, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(k.sftpKey)},
		HostKeyCallback: ssh.FixedHostKey(k.hostKey), Timeout: 10 * time.Second})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: sftp login as %s: %w", user, err)
	}
	c, err := pkgsftp.NewClient(conn)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return c, func() { c.Close(); conn.Close() }, nil
}

func demoPut(c *pkgsftp.Client, name string, body []byte) error {
	f, err := c.Create(name)
	if err != nil {
		return fmt.Errorf("demo: sftp put %s: %w", name, err)
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		return fmt.Errorf("demo: sftp put %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("demo: sftp put %s (the hub stores it on close): %w", name, err)
	}
	return nil
}

// demoInbox is the AS2 partner's side: what it received from the hub.
type demoInbox struct {
	mu   sync.Mutex
	msgs []waybill.InboundMessage
}

func (d *demoInbox) Receive(_ context.Context, in waybill.InboundMessage) (waybill.Receipt, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, in)
	return waybill.Receipt{MessageID: in.TransportID}, nil
}

func (d *demoInbox) received() []waybill.InboundMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]waybill.InboundMessage(nil), d.msgs...)
}
