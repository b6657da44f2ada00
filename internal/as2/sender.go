package as2

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"
	"time"

	"github.com/waybill-hub/waybill"
)

// maxMDNBytes bounds an MDN we read.
const maxMDNBytes = 1 << 20

// AsyncMDN is an asynchronous MDN that arrived for a message we sent, after its checks. Err is
// nil for a good, positive MDN whose MIC matches; otherwise it is the coded error Send would
// have returned for a synchronous MDN.
type AsyncMDN struct {
	Pending PendingMDN
	MDN     *MDN
	Meta    map[string]string // the same keys SendResult.Meta carries
	Err     error
}

// Sender sends documents to AS2 partners; it implements waybill.Sender. Its exported fields may
// be changed until the first method call. It is safe for concurrent use.
type Sender struct {
	// Now is the clock for certificate validity and MDN deadlines; time.Now when nil.
	Now func() time.Time
	// OnAsyncMDN, when set, is called by MDNHandler for each asynchronous MDN (the hub records
	// it in the audit trail and settles the delivery).
	OnAsyncMDN func(ctx context.Context, m AsyncMDN)
	// Logger is slog.Default() when nil.
	Logger *slog.Logger

	station  atomic.Pointer[Station]
	partners PartnerLookup
	client   *http.Client
	mdns     MDNStore
}

var _ waybill.Sender = (*Sender)(nil)

// NewSender returns a Sender for our station. client posts the messages (http.DefaultClient when
// nil; each send is also bounded by the partner's MDN timeout); mdns keeps the asynchronous MDNs
// awaited (a MemoryMDNStore when nil).
func NewSender(st *Station, partners PartnerLookup, client *http.Client, mdns MDNStore) *Sender {
	if client == nil {
		client = http.DefaultClient
	}
	if mdns == nil {
		mdns = &MemoryMDNStore{}
	}
	s := &Sender{partners: partners, client: client, mdns: mdns}
	s.station.Store(st)
	return s
}

// SetStation replaces our certificates (a rollover) for the messages sent from now on.
func (s *Sender) SetStation(st *Station) { s.station.Store(st) }

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// MessageIDFor returns the AS2 Message-ID Send uses for an outbound message: derived from its
// ID, so a retried delivery reuses it and the partner can tell the duplicate.
func MessageIDFor(outboundID, stationAS2ID string) string {
	return messageIDFor("waybill-"+outboundID, stationAS2ID)
}

// Send wraps msg as the partner profile asks (compress, sign, encrypt), posts it and, for a
// synchronous MDN, checks the MDN's signature, disposition and MIC. It returns nil once the
// partner took the message: for MDNAsync that is HTTP 2xx, with the MDN recorded as pending
// (SendResult.Meta[MetaMDNPending] = "true"). Errors are coded: EUNAVAILABLE for network
// failures, timeouts and HTTP 5xx (retry); EREJECTED for a negative MDN or HTTP 4xx;
// EINVALID for an MDN whose MIC does not match; EUNAUTHORIZED for certificate problems or an
// MDN signature that does not verify; ENOTFOUND for an unknown partner.
func (s *Sender) Send(ctx context.Context, msg waybill.OutboundMessage) (waybill.SendResult, error) {
	p, err := s.partners.ByID(ctx, msg.Partner)
	if err != nil {
		return waybill.SendResult{}, &waybill.Error{Code: waybill.ENOTFOUND, Reason: "as2_partner",
			Message: fmt.Sprintf("no AS2 profile for partner %q", msg.Partner), Err: err}
	}
	if p.URL == "" {
		return waybill.SendResult{}, waybill.Errorf(waybill.EINVALID, "as2_partner_config", "AS2 partner %s has no URL", p.ID)
	}
	st := s.station.Load()
	now := s.now()
	msgID := newMessageID(st.AS2ID)
	if msg.ID != "" {
		msgID = MessageIDFor(msg.ID, st.AS2ID)
	}
	body, hdr, mic, err := s.pack(st, p, msg, now)
	if err != nil {
		return waybill.SendResult{}, err
	}
	as2Headers(hdr, st.AS2ID, p.AS2ID, msgID, now)
	subject := p.Subject
	if subject == "" {
		subject = "EDI " + msg.DocType
	}
	subject = headerSafe(subject)
	hdr.Set("Subject", subject)
	mode := p.mdnMode()
	if mode != MDNNone {
		hdr.Set("Disposition-Notification-To", st.mdnTo())
		if p.SignedMDN {
			hdr.Set("Disposition-Notification-Options", mdnOptions(p.signAlg()))
		}
	}
	meta := map[string]string{MetaMessageID: msgID, MetaFrom: st.AS2ID, MetaTo: p.AS2ID, MetaMIC: mic,
		MetaMDNMode: string(mode), MetaSigned: boolString(p.Sign), MetaEncrypted: boolString(p.Encrypt),
		MetaCompressed: boolString(p.Compress)}
	if mode == MDNAsync {
		hdr.Set("Receipt-Delivery-Option", p.AsyncMDNURL)
		deadline := now.Add(p.mdnTimeout())
		// Recorded before posting: the MDN may arrive before the POST returns.
		if err := s.mdns.PutPending(ctx, PendingMDN{MessageID: msgID, Partner: p.ID, OutboundID: msg.ID,
			MIC: mic, SignedMDN: p.SignedMDN, SentAt: now, Deadline: deadline}); err != nil {
			return waybill.SendResult{}, waybill.Unavailable(err, "recording the pending MDN for %s", msgID)
		}
		meta[MetaMDNPending] = "true"
		meta[MetaMDNDeadline] = deadline.UTC().Format(time.RFC3339)
	}
	result := waybill.SendResult{TransportID: msgID, Meta: meta}
	resp, err := s.post(ctx, p, hdr, body)
	if err != nil {
		if mode == MDNAsync {
			_, _, _ = s.mdns.TakePending(context.WithoutCancel(ctx), msgID)
		}
		return result, err
	}
	result.At = s.now().UTC()
	if mode != MDNSync {
		return result, nil
	}
	m, err := s.readMDN(ctx, p, textproto.MIMEHeader(resp.header), resp.body)
	if err != nil {
		return result, err
	}
	err = checkMDN(p, msgID, mic, p.SignedMDN, m)
	addMDNMeta(meta, m)
	return result, err
}

// pack builds the HTTP body and content headers of msg, and the MIC the MDN must return.
func (s *Sender) pack(st *Station, p *Partner, msg waybill.OutboundMessage, now time.Time) ([]byte, http.Header, string, error) {
	ct := msg.ContentType
	if ct == "" {
		ct = "application/edi-x12"
	}
	hs := []header{{"Content-Type", ct}, {"Content-Transfer-Encoding", "binary"}}
	if msg.Filename != "" {
		hs = append(hs, header{"Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, headerSafe(msg.Filename))})
	}
	content := buildEntity(hs, msg.Payload)
	ent := content
	alg := p.signAlg()
	var mic string
	var err error
	internal := func(err error, what string) error {
		return &waybill.Error{Code: waybill.EINTERNAL, Reason: "as2_pack", Message: what, Err: err}
	}
	if p.Compress {
		der, err := compressCMS(ent)
		if err != nil {
			return nil, nil, "", internal(err, "compressing")
		}
		ent = smimeEntity(der, "compressed-data")
	}
	switch {
	case p.Sign:
		if mic, err = computeMIC(ent, alg); err != nil {
			return nil, nil, "", internal(err, "computing the MIC")
		}
		kp, err := st.signer(now)
		if err != nil {
			return nil, nil, "", err
		}
		if ent, err = signEntity(ent, kp, alg); err != nil {
			return nil, nil, "", internal(err, "signing")
		}
	case p.Encrypt || p.Compress:
		mic, err = computeMIC(content, alg)
	default:
		mic, err = computeMIC(msg.Payload, alg)
	}
	if err != nil {
		return nil, nil, "", internal(err, "computing the MIC")
	}
	if p.Encrypt {
		cert, err := p.encryptionCert(now)
		if err != nil {
			return nil, nil, "", err
		}
		der, err := encryptEnvelope(ent, []*x509.Certificate{cert}, p.encAlg())
		if err != nil {
			return nil, nil, "", internal(err, "encrypting")
		}
		smimeType := "enveloped-data"
		if strings.HasSuffix(string(p.encAlg()), "gcm") {
			smimeType = "authEnveloped-data"
		}
		ent = smimeEntity(der, smimeType)
	}
	e, err := parseEntity(ent)
	if err != nil {
		return nil, nil, "", internal(err, "rendering")
	}
	hdr := http.Header{}
	for k, v := range e.header {
		hdr[k] = v
	}
	return e.body, hdr, mic, nil
}

type response struct {
	header http.Header
	body   []byte
}

// post sends the message and reads the response within the partner's MDN timeout.
func (s *Sender) post(ctx context.Context, p *Partner, hdr http.Header, body []byte) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, p.mdnTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		return nil, waybill.Errorf(waybill.EINVALID, "as2_partner_config", "AS2 partner %s URL: %v", p.ID, err)
	}
	req.Header = hdr
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, waybill.Unavailable(err, "posting to AS2 partner %s", p.ID)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxMDNBytes))
	if err != nil {
		return nil, waybill.Unavailable(err, "reading the answer of AS2 partner %s", p.ID)
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return nil, waybill.Unavailable(nil, "AS2 partner %s answered %s", p.ID, resp.Status)
	case resp.StatusCode/100 != 2:
		return nil, waybill.Errorf(waybill.EREJECTED, "as2_http_status", "AS2 partner %s answered %s: %s",
			p.ID, resp.Status, strings.TrimSpace(string(rb[:min(len(rb), 200)])))
	}
	return &response{header: resp.Header, body: rb}, nil
}

// readMDN parses and, when signed, verifies an MDN from the partner.
func (s *Sender) readMDN(_ context.Context, p *Partner, h textproto.MIMEHeader, body []byte) (*MDN, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, waybill.Errorf(waybill.EUNAVAILABLE, "as2_mdn_missing", "AS2 partner %s answered without an MDN", p.ID)
	}
	e := topEntity(h, body)
	mt, params, err := e.mediaType()
	if err != nil {
		return nil, badMDN(p, err)
	}
	signed := false
	if mt == "multipart/signed" {
		parts, err := splitMultipart(e.body, params["boundary"])
		if err != nil || len(parts) != 2 {
			return nil, badMDN(p, fmt.Errorf("signed MDN: %v (%d parts)", err, len(parts)))
		}
		sigEnt, err := parseEntity(parts[1])
		if err != nil {
			return nil, badMDN(p, err)
		}
		sig, err := sigEnt.decodedBody()
		if err != nil {
			return nil, badMDN(p, err)
		}
		if _, _, err := verifySignature(sig, parts[0], p.TheirCerts, s.now(), p.AllowInsecureAlgs); err != nil {
			return nil, &waybill.Error{Code: waybill.EUNAUTHORIZED, Reason: "as2_mdn_signature",
				Message: fmt.Sprintf("the MDN of AS2 partner %s has a signature that does not verify", p.ID), Err: err}
		}
		if e, err = parseEntity(parts[0]); err != nil {
			return nil, badMDN(p, err)
		}
		signed = true
	}
	m, err := parseReport(e)
	if err != nil {
		return nil, badMDN(p, err)
	}
	m.Signed = signed
	m.MessageID = strings.TrimSpace(h.Get("Message-ID"))
	return m, nil
}

func badMDN(p *Partner, err error) error {
	return &waybill.Error{Code: waybill.EINVALID, Reason: "as2_mdn_malformed",
		Message: fmt.Sprintf("the MDN of AS2 partner %s cannot be read", p.ID), Err: err}
}

// checkMDN compares an MDN with what we sent.
func checkMDN(p *Partner, msgID, mic string, wantSigned bool, m *MDN) error {
	switch {
	case wantSigned && !m.Signed:
		return waybill.Errorf(waybill.EUNAUTHORIZED, "as2_mdn_unsigned", "AS2 partner %s sent an unsigned MDN; a signed one was asked", p.ID)
	case m.OriginalMessageID != "" && m.OriginalMessageID != msgID:
		return waybill.Errorf(waybill.EINVALID, "as2_mdn_mismatch", "AS2 partner %s sent an MDN for %s, not %s", p.ID, m.OriginalMessageID, msgID)
	case !m.Positive():
		return waybill.Errorf(waybill.EREJECTED, "as2_mdn_negative", "AS2 partner %s refused message %s: %s", p.ID, msgID, m.Disposition)
	case !sameMIC(m.ReceivedMIC, mic):
		return waybill.Errorf(waybill.EINVALID, "as2_mic_mismatch", "AS2 partner %s returned MIC %q for message %s, we computed %q", p.ID, m.ReceivedMIC, msgID, mic)
	}
	return nil
}

func addMDNMeta(meta map[string]string, m *MDN) {
	meta[MetaMDNMessageID] = m.MessageID
	meta[MetaMDNDisposition] = m.Disposition
	meta[MetaMDNMIC] = m.ReceivedMIC
	meta[MetaMDNSigned] = boolString(m.Signed)
}

// MDNHandler is the endpoint partners post asynchronous MDNs to (Partner.AsyncMDNURL). Each MDN
// is matched to its pending message, checked like a synchronous one and passed to OnAsyncMDN.
// It answers 200 once the MDN is taken (also when it is negative), 400 when it cannot be read or
// names no pending message, 401 when its signature does not verify.
func (s *Sender) MDNHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			http.Error(w, "MDNs are POSTed", http.StatusMethodNotAllowed)
			return
		}
		ctx := req.Context()
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxMDNBytes))
		if err != nil {
			http.Error(w, "MDN too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		from := unquoteAS2ID(req.Header.Get("AS2-From"))
		p, err := s.partners.ByAS2ID(ctx, from)
		if err != nil {
			http.Error(w, "unknown AS2-From", http.StatusBadRequest)
			return
		}
		m, err := s.readMDN(ctx, p, textproto.MIMEHeader(req.Header), body)
		if err != nil {
			code := http.StatusBadRequest
			if waybill.Code(err) == waybill.EUNAUTHORIZED {
				code = http.StatusUnauthorized
			}
			s.logger().Warn("as2: refusing an asynchronous MDN", "as2_from", from, "err", err)
			http.Error(w, waybill.Message(err), code)
			return
		}
		pending, ok, err := s.mdns.TakePending(ctx, m.OriginalMessageID)
		if err != nil {
			http.Error(w, "temporarily unable to record the MDN", http.StatusServiceUnavailable)
			return
		}
		if !ok || pending.Partner != p.ID {
			if ok { // not this partner's message: put it back
				_ = s.mdns.PutPending(ctx, pending)
			}
			http.Error(w, "no message awaits this MDN", http.StatusBadRequest)
			return
		}
		meta := map[string]string{MetaMessageID: pending.MessageID, MetaMIC: pending.MIC, MetaMDNMode: string(MDNAsync)}
		addMDNMeta(meta, m)
		err = checkMDN(p, pending.MessageID, pending.MIC, pending.SignedMDN, m)
		s.logger().Info("as2: asynchronous MDN", "partner", p.ID, "as2_message_id", pending.MessageID,
			"disposition", m.Disposition, "err", err)
		if s.OnAsyncMDN != nil {
			s.OnAsyncMDN(ctx, AsyncMDN{Pending: pending, MDN: m, Meta: meta, Err: err})
		}
		w.WriteHeader(http.StatusOK)
	})
}

// PendingMDNs lists the asynchronous MDNs still awaited, oldest first.
func (s *Sender) PendingMDNs(ctx context.Context) ([]PendingMDN, error) {
	return s.mdns.PendingMDNs(ctx)
}

// Expired removes and returns the pending MDNs whose deadline is before now: each is reported
// once, and its delivery is an exception for an operator (the hub raises it). An MDN arriving
// after that is refused by MDNHandler as unknown.
func (s *Sender) Expired(ctx context.Context, now time.Time) ([]PendingMDN, error) {
	all, err := s.mdns.PendingMDNs(ctx)
	if err != nil {
		return nil, err
	}
	var out []PendingMDN
	for _, p := range all {
		if !now.Before(p.Deadline) {
			if got, ok, err := s.mdns.TakePending(ctx, p.MessageID); err != nil {
				return out, err
			} else if ok {
				out = append(out, got)
			}
		}
	}
	return out, nil
}

// headerSafe drops the characters that could end a header line or a quoted string.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
