package transport_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/as2"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/internal/transport"
)

// backends lists the store backends: SQLite always, PostgreSQL when WAYBILL_TEST_DATABASE_URL is set.
func backends() []string {
	out := []string{"sqlite"}
	if os.Getenv(postgres.TestURLEnv) != "" {
		out = append(out, "postgres")
	}
	return out
}

func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, be := range backends() {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			fn(t, be)
		})
	}
}

// station is one side of AS2 with its keypair files.
type station struct {
	st       *as2.Station
	certFile string
	keyFile  string
	cert     *x509.Certificate
}

func newStation(t testing.TB, dir, as2ID string) station {
	t.Helper()
	certPEM, keyPEM, err := transport.NewCertificate(as2ID, time.Now().Add(-time.Hour), 365*24*time.Hour)
	require.NoError(t, err)
	name := strings.ToLower(strings.ReplaceAll(as2ID, " ", "-"))
	s := station{certFile: filepath.Join(dir, name+".crt"), keyFile: filepath.Join(dir, name+".key")}
	require.NoError(t, os.WriteFile(s.certFile, certPEM, 0o600))
	require.NoError(t, os.WriteFile(s.keyFile, keyPEM, 0o600))
	s.st, err = transport.LoadStation(transport.AS2Config{AS2ID: as2ID, CertFiles: []string{s.certFile}, KeyFiles: []string{s.keyFile}})
	require.NoError(t, err)
	s.cert = s.st.Certs[0].Cert
	return s
}

// memIntake is the AS2 partner's side of outbound tests: what it received.
type memIntake struct {
	mu   sync.Mutex
	msgs []waybill.InboundMessage
	seen map[string]bool
}

func (m *memIntake) Receive(_ context.Context, in waybill.InboundMessage) (waybill.Receipt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	if m.seen[in.TransportID] {
		return waybill.Receipt{MessageID: in.TransportID, Duplicate: true, DuplicateOf: in.TransportID}, nil
	}
	m.seen[in.TransportID] = true
	m.msgs = append(m.msgs, in)
	return waybill.Receipt{MessageID: in.TransportID}, nil
}

func (m *memIntake) received() []waybill.InboundMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]waybill.InboundMessage(nil), m.msgs...)
}

// bundle is a running hub with its transports, and the partners' sides.
type bundle struct {
	app    *app.App
	ch     *transport.Channels
	db     *store.DB
	erp    *memerp.ERP
	dir    string
	hubURL string

	hubStation station
	acme       station     // the AS2 partner's station
	acmeSender *as2.Sender // the partner sending to the hub
	acmeInbox  *memIntake  // what the partner received from the hub
	acmeServer *httptest.Server
	acmePeers  *as2.Partners // the partner's view of the hub

	globexKey ssh.Signer // the SFTP mailbox partner's key
	hanseKey  ssh.Signer // the CSV partner's key
	httpToken string     // the HTTP intake partner's token
	folderDir string     // the folder partner's drop folder
	folderOut string
}

type options struct {
	csvPolicy string
	as2       func(*partner.AS2)
	profiles  func(b *bundle) []transport.PartnerTransport
	cfg       func(*transport.Config)
	sqliteDir string // an existing SQLite data directory (a hub that was killed); default a new one
	wrapERP   func(*memerp.ERP) waybill.ERP
}

const hanseMapping = `name: hanse-orders-v1
document: order
delimiter: ";"
decimal_comma: true
date_format: DD.MM.YYYY
columns:
  - {field: po_number, header: Bestellnummer, required: true}
  - {field: po_date, header: Datum}
  - {field: line.vendor_item, header: Artikel, required: true}
  - {field: line.quantity, header: Menge, required: true}
  - {field: line.uom, header: Einheit, default: EA}
  - {field: line.unit_price, header: Preis}
`

func setup(t *testing.T, backend string, opt options) *bundle {
	t.Helper()
	ctx := context.Background()
	var st *app.Storage
	switch backend {
	case "sqlite":
		d := opt.sqliteDir
		if d == "" {
			d = t.TempDir()
		}
		be, err := sqlite.Open(ctx, d)
		require.NoError(t, err)
		st = app.StorageFor(be)
	case "postgres":
		st = app.StorageFor(postgres.TestBackend(t))
	}
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Pipeline.PollInterval = 10 * time.Millisecond
	cfg.Pipeline.BackoffBase = 20 * time.Millisecond
	cfg.Pipeline.BackoffMax = 100 * time.Millisecond
	cfg.Pipeline.MaxAttempts = 3
	cfg.Partners = []config.Partner{{ID: "acme", Account: "ACME"}, {ID: "globex", Account: "GLOBEX"}, {ID: "hanse", Account: "HANSE"},
		{ID: "plant", Account: "PLANT"}, {ID: "webshop", Account: "WEBSHOP"}, {ID: "initech", Account: "INITECH"}}
	erp := memerp.New(false)
	for _, c := range []string{"ACME", "GLOBEX", "HANSE", "PLANT", "WEBSHOP", "INITECH"} {
		erp.AddCustomer(c, c+" Inc.")
	}
	erp.AddProduct("SKU-1", "00012345678905", waybill.MustDecimal("12.50"))
	erp.AddProduct("SKU-2", "", waybill.MustDecimal("3.10"))
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var appERP waybill.ERP = erp
	if opt.wrapERP != nil {
		appERP = opt.wrapERP(erp)
	}
	a, err := app.New(ctx, cfg, app.Options{Storage: st, ERP: appERP, Logger: log})
	require.NoError(t, err)

	dir := t.TempDir()
	b := &bundle{app: a, db: a.Storage.DB, erp: erp, dir: dir}
	b.hubStation = newStation(t, dir, "WAYBILL")
	b.acme = newStation(t, dir, "ACME AS2")

	// The AS2 partner's own server, receiving what the hub sends.
	b.acmeInbox = &memIntake{}
	b.acmePeers, err = as2.NewPartners()
	require.NoError(t, err)
	b.acmeServer = httptest.NewServer(as2.NewReceiver(b.acme.st, b.acmePeers, b.acmeInbox, as2.ReceiverOptions{AsyncBackoff: 10 * time.Millisecond}))
	t.Cleanup(b.acmeServer.Close)

	b.globexKey, b.hanseKey = newSSHKey(t), newSSHKey(t)
	writeFile(t, filepath.Join(dir, "globex.pub"), ssh.MarshalAuthorizedKey(b.globexKey.PublicKey()))
	writeFile(t, filepath.Join(dir, "hanse.pub"), ssh.MarshalAuthorizedKey(b.hanseKey.PublicKey()))
	writeFile(t, filepath.Join(dir, "hanse-orders.yaml"), []byte(hanseMapping))
	hostKey, _, err := transport.NewHostKey()
	require.NoError(t, err)
	writeFile(t, filepath.Join(dir, "host_key"), hostKey)
	b.httpToken = "secret-token-for-webshop"
	b.folderDir, b.folderOut = filepath.Join(dir, "plant-in"), filepath.Join(dir, "plant-out")
	require.NoError(t, os.MkdirAll(b.folderDir, 0o755))

	acmeAS2 := &partner.AS2{AS2ID: "ACME AS2", URL: b.acmeServer.URL, CertFiles: []string{"acme-as2.crt"}, Sign: true, Encrypt: true,
		SignedMDN: true, MDNTimeout: 10 * time.Second}
	if opt.as2 != nil {
		opt.as2(acmeAS2)
	}
	profiles := []transport.PartnerTransport{
		{ID: "acme", Dir: dir, Transport: partner.Transport{AS2: acmeAS2}},
		{ID: "globex", Dir: dir, Transport: partner.Transport{SFTP: &partner.SFTP{Mailbox: &partner.SFTPMailbox{AuthorizedKeysFile: "globex.pub"}}}},
		{ID: "hanse", Dir: dir, Transport: partner.Transport{SFTP: &partner.SFTP{Mailbox: &partner.SFTPMailbox{AuthorizedKeysFile: "hanse.pub"}},
			CSV: &partner.CSV{MappingFile: "hanse-orders.yaml", Policy: opt.csvPolicy}}},
		{ID: "plant", Dir: dir, Transport: partner.Transport{Folder: &partner.Folder{Dir: b.folderDir, OutDir: b.folderOut}}},
		{ID: "webshop", Dir: dir, Transport: partner.Transport{HTTP: &partner.HTTPIntake{TokenHash: transport.TokenHash(b.httpToken)}}},
	}
	if opt.profiles != nil {
		profiles = append(profiles, opt.profiles(b)...)
	}
	tc := transport.Config{
		SFTP:   transport.SFTPConfig{Listen: "127.0.0.1:0", HostKeyFile: filepath.Join(dir, "host_key"), Root: filepath.Join(dir, "sftp"), ArchiveDir: filepath.Join(dir, "sftp-archive"), StableFor: time.Hour},
		AS2:    transport.AS2Config{AS2ID: "WAYBILL", CertFiles: []string{b.hubStation.certFile}, KeyFiles: []string{b.hubStation.keyFile}, CheckEvery: time.Hour},
		Folder: transport.FolderConfig{ArchiveDir: filepath.Join(dir, "folder-archive"), Interval: -1, StableFor: -1},
		Logger: log,
	}
	if opt.cfg != nil {
		opt.cfg(&tc)
	}
	b.ch, err = app.MountTransports(a, tc, profiles)
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	require.NoError(t, b.ch.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.ch.Stop(ctx)
		a.Stop(ctx)
	})
	b.hubURL = "http://" + a.Addr()

	// The partner's view of the hub.
	require.NoError(t, b.acmePeers.Put(&as2.Partner{ID: "hub", AS2ID: "WAYBILL", URL: b.hubURL + "/as2",
		TheirCerts: []*x509.Certificate{b.hubStation.cert}, Sign: true, Encrypt: true, SignedMDN: true, MDNTimeout: 10 * time.Second}))
	b.acmeSender = as2.NewSender(b.acme.st, b.acmePeers, nil, nil)
	return b
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func writeFile(t testing.TB, name string, data []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(name, data, 0o600))
}

func newSSHKey(t testing.TB) ssh.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(k)
	require.NoError(t, err)
	rawKeys.Store(s, k)
	return s
}

// eventually waits until cond holds, re-checking whenever a job finishes and every 25 ms.
func (b *bundle) eventually(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	events, cancel := b.app.Queue.Subscribe()
	defer cancel()
	deadline := time.After(timeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-events:
		case <-tick.C:
		case <-deadline:
			t.Fatalf("condition not met within %s", timeout)
		}
	}
}

func orderJSON(po string) []byte {
	o := waybill.Order{PONumber: po, Lines: []waybill.Line{{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal("5"), UOM: "EA"}}}
	data, _ := json.Marshal(o)
	return data
}

func (b *bundle) orders(t *testing.T, po string) []*store.OrderRecord {
	t.Helper()
	list, err := b.db.Orders(context.Background(), store.OrderFilter{PONumber: po})
	require.NoError(t, err)
	return list
}

func (b *bundle) stateOf(t *testing.T, po string) waybill.OrderState {
	if list := b.orders(t, po); len(list) > 0 {
		return list[0].Order.State
	}
	return ""
}

func (b *bundle) messages(t *testing.T, partner string) []*store.Message {
	t.Helper()
	list, err := b.db.Messages(context.Background(), store.MessageFilter{Partner: partner})
	require.NoError(t, err)
	return list
}

// kinds returns the audit record kinds of a correlation id.
func (b *bundle) kinds(t *testing.T, corr string) []string {
	t.Helper()
	trail, err := b.db.AuditTrail(context.Background(), corr)
	require.NoError(t, err)
	var out []string
	for _, r := range trail {
		out = append(out, r.Kind)
	}
	return out
}

// sftpClient logs in to the hub's mailbox as user with key, pinning the hub's host key.
func (b *bundle) sftpClient(t *testing.T, user string, key ssh.Signer) (*pkgsftp.Client, net.Conn) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.dir, "host_key"))
	require.NoError(t, err)
	hk, err := ssh.ParsePrivateKey(data)
	require.NoError(t, err)
	nc, err := net.Dial("tcp", b.ch.SFTPAddr())
	require.NoError(t, err)
	cc, chans, reqs, err := ssh.NewClientConn(nc, b.ch.SFTPAddr(), &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.FixedHostKey(hk.PublicKey()), Timeout: 5 * time.Second})
	require.NoError(t, err)
	client, err := pkgsftp.NewClient(ssh.NewClient(cc, chans, reqs))
	require.NoError(t, err)
	t.Cleanup(func() { client.Close(); nc.Close() })
	return client, nc
}

func put(t *testing.T, c *pkgsftp.Client, name string, body []byte) {
	t.Helper()
	f, err := c.Create(name)
	require.NoError(t, err)
	_, err = f.Write(body)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func post(t *testing.T, url, token string, body []byte, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func tryClient(b *bundle, user string, key ssh.Signer) (*pkgsftp.Client, error) {
	data, err := os.ReadFile(filepath.Join(b.dir, "host_key"))
	if err != nil {
		return nil, err
	}
	hk, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, err
	}
	cc, err := ssh.Dial("tcp", b.ch.SFTPAddr(), &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.FixedHostKey(hk.PublicKey()), Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	return pkgsftp.NewClient(cc)
}

func storeFilter(partnerID string) store.OrderFilter {
	return store.OrderFilter{Partner: partnerID, Limit: 100000}
}
