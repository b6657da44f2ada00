package transport

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/as2"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/store"
)

// buildAS2 loads our station and the AS2 partner profiles and makes the receiver and sender.
func (c *Channels) buildAS2() []error {
	var errs []error
	var profiles []*as2.Partner
	for _, pt := range c.sorted() {
		a := pt.Transport.AS2
		if a == nil {
			continue
		}
		p, err := as2Partner(pt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		profiles = append(profiles, p)
	}
	if c.cfg.AS2.AS2ID == "" {
		if len(profiles) > 0 {
			errs = append(errs, fmt.Errorf("transport.as2.as2_id: required, since partner %s uses AS2", profiles[0].ID))
		}
		return errs
	}
	st, err := LoadStation(c.cfg.AS2)
	if err != nil {
		return append(errs, err)
	}
	partners, err := as2.NewPartners(profiles...)
	if err != nil {
		return append(errs, err)
	}
	c.station, c.as2Partners = st, partners
	db := c.hub.DB()
	c.receiver = as2.NewReceiver(st, partners, c.hub, as2.ReceiverOptions{Archive: rawArchive{db}, Client: c.cfg.Client,
		Logger: c.log.With("channel", "as2"), MaxBodyBytes: c.cfg.AS2.MaxBodyBytes, Now: c.cfg.Now,
		MDNQueue: mdnQueue{c.hub}})
	c.hub.RegisterSender(ChannelAS2MDN, mdnPoster{c.cfg.Client})
	c.sender = as2.NewSender(st, partners, c.cfg.Client, mdnStore{db})
	c.sender.Logger = c.log.With("channel", "as2")
	c.sender.Now = c.cfg.Now
	c.sender.OnAsyncMDN = c.onAsyncMDN
	return errs
}

// as2Partner converts a profile's AS2 section.
func as2Partner(pt PartnerTransport) (*as2.Partner, error) {
	a := pt.Transport.AS2
	where := fmt.Sprintf("partner %s: transport.as2", pt.ID)
	p := &as2.Partner{ID: pt.ID, AS2ID: a.AS2ID, URL: a.URL, Sign: a.Sign, Encrypt: a.Encrypt, Compress: a.Compress,
		AllowInsecureAlgs: a.AllowInsecure, MDN: as2.MDNMode(a.MDN), SignedMDN: a.SignedMDN, AsyncMDNURL: a.AsyncMDNURL,
		MDNTimeout: a.MDNTimeout}
	if a.SignAlg != "" {
		alg, ok := as2.ParseMICAlg(a.SignAlg)
		if !ok {
			return nil, fmt.Errorf("%s.sign_alg: %q is not sha256, sha384, sha512 or sha1", where, a.SignAlg)
		}
		p.SignAlg = alg
	}
	if a.EncAlg != "" {
		p.EncAlg = as2.EncAlg(strings.ToLower(a.EncAlg))
	}
	// The AS2 package applies sign and encrypt in both directions; a profile that requires more of
	// the partner than it applies itself cannot be honoured and is refused rather than ignored.
	if a.RequireSigned && !a.Sign {
		return nil, fmt.Errorf("%s.require_signed: needs sign: true (signatures are required in both directions)", where)
	}
	if a.RequireEncrypt && !a.Encrypt {
		return nil, fmt.Errorf("%s.require_encrypted: needs encrypt: true (encryption is required in both directions)", where)
	}
	for i, f := range a.CertFiles {
		data, err := pt.readFile(f)
		var certs []*x509.Certificate
		if err == nil {
			certs, err = ParseCertificates(f, data)
		}
		if err != nil {
			return nil, fmt.Errorf("%s.cert_files[%d]: %w", where, i, err)
		}
		p.TheirCerts = append(p.TheirCerts, certs...)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return p, nil
}

// rawArchive keeps inbound AS2 requests in the hub's database.
type rawArchive struct{ db *store.DB }

func (a rawArchive) Archive(ctx context.Context, messageID string, raw []byte) error {
	_, err := a.db.ArchiveRaw(ctx, string(waybill.ChannelAS2), messageID, raw)
	return err
}

// mdnStore is the durable as2.MDNStore over the hub's database.
type mdnStore struct{ db *store.DB }

var _ as2.MDNStore = mdnStore{}

func (s mdnStore) PutPending(ctx context.Context, p as2.PendingMDN) error {
	return s.db.PutPendingMDN(ctx, store.PendingMDN(p))
}

func (s mdnStore) TakePending(ctx context.Context, id string) (as2.PendingMDN, bool, error) {
	p, ok, err := s.db.TakePendingMDN(ctx, id)
	return as2.PendingMDN(p), ok, err
}

func (s mdnStore) PendingMDNs(ctx context.Context) ([]as2.PendingMDN, error) {
	list, err := s.db.PendingMDNs(ctx)
	out := make([]as2.PendingMDN, len(list))
	for i, p := range list {
		out[i] = as2.PendingMDN(p)
	}
	return out, err
}

// onAsyncMDN records an asynchronous MDN: a good one marks the outbound message acknowledged; a
// bad one (negative, wrong MIC, bad signature) makes it a dead letter an operator can replay.
func (c *Channels) onAsyncMDN(ctx context.Context, m as2.AsyncMDN) {
	detail := map[string]any{}
	for k, v := range m.Meta {
		detail[k] = v
	}
	refs := []string{m.Pending.OutboundID, m.Pending.MessageID}
	if m.MDN != nil && m.Meta[as2.MetaMDNMessageID] != "" {
		refs = append(refs, m.Meta[as2.MetaMDNMessageID])
	}
	c.awaitSent(ctx, m.Pending.OutboundID)
	err := c.hub.DB().InTx(ctx, func(tx *store.Tx) error {
		msg, err := tx.Message(ctx, m.Pending.OutboundID)
		if err != nil {
			return err
		}
		if m.Err == nil {
			if err := tx.SetMessageState(ctx, msg.ID, store.MessageAcked); err != nil {
				return err
			}
			return tx.Audit(ctx, store.AuditRecord{Kind: "outbound.mdn", CorrelationID: msg.CorrelationID, Partner: msg.Partner,
				Subject: msg.ID, Actor: string(waybill.ChannelAS2), Summary: fmt.Sprintf("asynchronous MDN for %s %s: %s", msg.DocType, msg.ID,
					m.Meta[as2.MetaMDNDisposition]), Detail: detail, Refs: refs})
		}
		detail["error"] = m.Err.Error()
		if err := tx.Audit(ctx, store.AuditRecord{Kind: "outbound.mdn_failed", CorrelationID: msg.CorrelationID, Partner: msg.Partner,
			Subject: msg.ID, Actor: string(waybill.ChannelAS2), Summary: fmt.Sprintf("asynchronous MDN for %s %s refused: %s", msg.DocType, msg.ID,
				waybill.Message(m.Err)), Detail: detail, Refs: refs}); err != nil {
			return err
		}
		return deadDelivery(ctx, tx, msg, m.Err)
	})
	if err != nil {
		c.log.Error("recording asynchronous MDN", "partner", m.Pending.Partner, "message_id", m.Pending.OutboundID,
			"as2_message_id", m.Pending.MessageID, "error", err)
	}
}

// awaitSent waits (up to asyncSettle) until the deliver job has recorded the message as sent: a
// fast partner can post its asynchronous MDN before the job that sent the message has recorded
// the send, and that record would otherwise overwrite the MDN's outcome.
func (c *Channels) awaitSent(ctx context.Context, id string) {
	deadline := time.Now().Add(asyncSettle)
	for time.Now().Before(deadline) {
		m, err := c.hub.DB().Message(ctx, id)
		if err != nil || (m.State != store.MessageQueued && m.State != store.MessageReplayed) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// asyncSettle bounds awaitSent.
const asyncSettle = 10 * time.Second

// deadDelivery turns an outbound message whose delivery failed after the deliver job finished (a
// bad or missing asynchronous MDN) into a dead letter of that job, so that an operator's replay
// sends it again (with the same AS2 Message-ID).
func deadDelivery(ctx context.Context, tx *store.Tx, msg *store.Message, cause error) error {
	args, err := json.Marshal(hub.DeliverMessage{MessageID: msg.ID, CorrelationID: msg.CorrelationID, Partner: msg.Partner})
	if err != nil {
		return err
	}
	code := string(waybill.Code(cause))
	if code == "" {
		code = string(waybill.EINTERNAL)
	}
	if err := tx.InsertDeadLetter(ctx, &store.DeadLetter{JobKind: hub.DeliverMessage{}.Kind(), JobArgs: string(args), MessageID: msg.ID,
		CorrelationID: msg.CorrelationID, Partner: msg.Partner, Code: code, Reason: waybill.Reason(cause),
		Message: waybill.Message(cause), Attempts: 1}); err != nil {
		return err
	}
	return tx.SetMessageState(ctx, msg.ID, store.MessageDead)
}

// as2Loop turns overdue asynchronous MDNs into dead letters and warns of expiring certificates.
func (c *Channels) as2Loop(ctx context.Context) {
	t := time.NewTicker(c.cfg.AS2.CheckEvery)
	defer t.Stop()
	c.warnExpiries()
	for {
		if _, err := c.CheckMDNs(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("checking overdue AS2 MDNs", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckMDNs turns every asynchronous MDN past its deadline into a dead letter of its delivery
// (reason as2_mdn_missing) and returns how many it found. Each overdue MDN is handled once, also
// with several replicas (the store hands each pending record out once).
func (c *Channels) CheckMDNs(ctx context.Context) (int, error) {
	if c.sender == nil {
		return 0, nil
	}
	expired, err := c.sender.Expired(ctx, c.cfg.Now())
	if err != nil {
		return 0, err
	}
	for _, p := range expired {
		cause := &waybill.Error{Code: waybill.EUNAVAILABLE, Reason: "as2_mdn_missing",
			Message: fmt.Sprintf("no MDN from %s for AS2 message %s since %s (deadline %s)", p.Partner, p.MessageID,
				p.SentAt.UTC().Format(time.RFC3339), p.Deadline.UTC().Format(time.RFC3339))}
		err := c.hub.DB().InTx(ctx, func(tx *store.Tx) error {
			msg, err := tx.Message(ctx, p.OutboundID)
			if err != nil {
				return err
			}
			if err := tx.Audit(ctx, store.AuditRecord{Kind: "outbound.mdn_missing", CorrelationID: msg.CorrelationID, Partner: msg.Partner,
				Subject: msg.ID, Actor: string(waybill.ChannelAS2), Summary: cause.Message,
				Detail: map[string]any{"as2_message_id": p.MessageID, "deadline": p.Deadline.UTC().Format(time.RFC3339)},
				Refs:   []string{msg.ID, p.MessageID}}); err != nil {
				return err
			}
			return deadDelivery(ctx, tx, msg, cause)
		})
		if err != nil {
			c.log.Error("recording a missing AS2 MDN", "partner", p.Partner, "message_id", p.OutboundID, "as2_message_id", p.MessageID, "error", err)
			continue
		}
		c.log.Warn("AS2 MDN missing; delivery dead-lettered", "partner", p.Partner, "message_id", p.OutboundID, "as2_message_id", p.MessageID)
	}
	return len(expired), nil
}

// CertExpiries lists our AS2 certificates and every partner's with their validity.
func (c *Channels) CertExpiries() []as2.CertExpiry {
	if c.as2Partners == nil {
		return nil
	}
	return as2.CertExpiries(c.station, c.as2Partners.All())
}

func (c *Channels) warnExpiries() {
	now := c.cfg.Now()
	for _, e := range c.CertExpiries() {
		left := e.Remaining(now)
		if left < c.cfg.AS2.ExpiryWarning {
			c.log.Warn("AS2 certificate expires soon", "partner", e.Partner, "ours", e.Ours, "subject", e.Subject,
				"serial", e.Serial, "not_after", e.NotAfter.UTC().Format(time.RFC3339), "days_left", int(left.Hours()/24))
		}
	}
}

// Collector exports waybill_as2_certificate_expiry_seconds{partner, ours, serial}: the seconds
// until each AS2 certificate expires (negative once expired), read at scrape time.
func (c *Channels) Collector() prometheus.Collector { return expiryCollector{c} }

var expiryDesc = prometheus.NewDesc("waybill_as2_certificate_expiry_seconds",
	"Seconds until an AS2 certificate (ours or a partner's) expires; negative once expired.",
	[]string{"partner", "ours", "serial"}, nil)

type expiryCollector struct{ c *Channels }

func (e expiryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- expiryDesc }

func (e expiryCollector) Collect(ch chan<- prometheus.Metric) {
	now := e.c.cfg.Now()
	for _, x := range e.c.CertExpiries() {
		ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, x.Remaining(now).Seconds(), x.Partner,
			fmt.Sprint(x.Ours), x.Serial)
	}
}

// ReloadAS2 replaces a partner's AS2 profile (new certificates during a rollover, another URL or
// MDN mode) for the messages sent and received from now on, without a restart. The partner must
// have been configured with AS2 when the channels were built.
func (c *Channels) ReloadAS2(pt PartnerTransport) error {
	if c.as2Partners == nil || pt.Transport.AS2 == nil {
		return waybill.Errorf(waybill.EINVALID, "transport_config", "partner %s: no AS2 to reload", pt.ID)
	}
	if _, err := c.as2Partners.ByID(context.Background(), pt.ID); err != nil {
		return waybill.Errorf(waybill.ENOTFOUND, "as2_partner", "partner %s had no AS2 profile at start", pt.ID)
	}
	p, err := as2Partner(pt)
	if err != nil {
		return waybill.Errorf(waybill.EINVALID, "transport_config", "%v", err)
	}
	return c.as2Partners.Put(p)
}
