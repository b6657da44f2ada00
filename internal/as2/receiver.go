package as2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waybill-hub/waybill"
)

// RawArchive keeps the original request (headers and still-encrypted body) of every inbound AS2
// message. It is optional; when set, the Receiver calls it before anything else and answers 503
// when it fails, so nothing is acknowledged that was not archived.
type RawArchive interface {
	Archive(ctx context.Context, messageID string, raw []byte) error
}

// DefaultMaxBodyBytes bounds an inbound AS2 request when ReceiverOptions sets no limit.
const DefaultMaxBodyBytes = 64 << 20

// ReceiverOptions tunes a Receiver. The zero value is usable.
type ReceiverOptions struct {
	Now          func() time.Time // the clock for certificate validity; time.Now when nil
	Archive      RawArchive       // optional raw archive
	Client       *http.Client     // posts asynchronous MDNs; a client with a 60s timeout when nil
	Logger       *slog.Logger     // slog.Default() when nil
	MaxBodyBytes int64            // DefaultMaxBodyBytes when 0
	ReportingUA  string           // Reporting-UA of our MDNs; "Waybill AS2" when ""
	// AsyncAttempts is how many times an asynchronous MDN is posted before giving up (3 when
	// 0); AsyncBackoff is the wait before the second attempt, doubled for each next one (2s
	// when 0). A partner that gets no MDN resends the message, which is answered as a duplicate.
	AsyncAttempts int
	// MDNQueue, when set, takes asynchronous MDNs to post durably (the hub's outbound pipeline,
	// with its retries and dead letters) instead of the in-memory retries of AsyncAttempts. The
	// HTTP request is answered 200 only once the MDN is queued, 503 otherwise (the partner resends).
	MDNQueue     AsyncMDNQueue
	AsyncBackoff time.Duration
}

// Receiver is the AS2 inbound endpoint (an http.Handler). Each message is opened (decrypted,
// decompressed, verified) against the partner profile named by AS2-From, handed to the hub's
// Intake, and answered with an MDN only after Intake reports it durable. A duplicate Message-ID
// gets the same positive MDN and is not processed again (the hub's Intake tells duplicates).
// If Intake fails, the answer is HTTP 503 without an MDN so the partner retries.
//
// A Receiver is safe for concurrent use.
type Receiver struct {
	station  atomic.Pointer[Station]
	partners PartnerLookup
	intake   waybill.Intake
	opts     ReceiverOptions
	async    sync.WaitGroup
}

var _ http.Handler = (*Receiver)(nil)

// NewReceiver returns a Receiver for our station st.
func NewReceiver(st *Station, partners PartnerLookup, intake waybill.Intake, opts ReceiverOptions) *Receiver {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.ReportingUA == "" {
		opts.ReportingUA = "Waybill AS2"
	}
	if opts.AsyncAttempts <= 0 {
		opts.AsyncAttempts = 3
	}
	if opts.AsyncBackoff <= 0 {
		opts.AsyncBackoff = 2 * time.Second
	}
	r := &Receiver{partners: partners, intake: intake, opts: opts}
	r.station.Store(st)
	return r
}

// SetStation replaces our certificates (a rollover) for the messages that arrive from now on.
func (r *Receiver) SetStation(st *Station) { r.station.Store(st) }

// Wait blocks until the asynchronous MDNs already started have been posted (or failed).
func (r *Receiver) Wait() { r.async.Wait() }

// inbound is one request being handled.
// AsyncMDNQueue queues an asynchronous MDN for delivery to url with header and body (see PostMDN).
type AsyncMDNQueue interface {
	QueueMDN(ctx context.Context, partnerID, correlationID, messageID, url string, header http.Header, body []byte) error
}

type inbound struct {
	correlationID            string
	msgID, from, to, subject string
	req                      mdnRequest
	partner                  *Partner
	station                  *Station
	now                      time.Time
}

// ServeHTTP implements http.Handler.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "AS2 messages are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.opts.MaxBodyBytes))
	if err != nil {
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	ctx := req.Context()
	h := textproto.MIMEHeader(req.Header)
	in := &inbound{
		msgID:   strings.TrimSpace(h.Get("Message-ID")),
		from:    unquoteAS2ID(h.Get("AS2-From")),
		to:      unquoteAS2ID(h.Get("AS2-To")),
		subject: h.Get("Subject"),
		req:     parseMDNRequest(h),
		station: r.station.Load(),
		now:     r.opts.Now(),
	}
	log := r.opts.Logger.With("as2_message_id", in.msgID, "as2_from", in.from)
	if r.opts.Archive != nil {
		if err := r.opts.Archive.Archive(ctx, in.msgID, dumpRequest(req.Header, body)); err != nil {
			log.Error("as2: archiving the raw message", "err", err)
			http.Error(w, "temporarily unable to store the message", http.StatusServiceUnavailable)
			return
		}
	}
	o, perr := r.open(ctx, in, h, body)
	if perr != nil {
		log.Warn("as2: refusing message", "failure", perr.Failure, "err", perr.Err)
		r.answer(w, in, "", perr.Failure, perr.Err.Error(), log)
		return
	}
	receipt, err := r.intake.Receive(ctx, r.inboundMessage(in, o, h))
	if err != nil {
		if waybill.IsTransient(err) {
			log.Error("as2: intake failed; the partner will retry", "err", err)
			http.Error(w, "temporarily unable to store the message", http.StatusServiceUnavailable)
			return
		}
		log.Error("as2: intake refused the message", "err", err)
		r.answer(w, in, "", FailUnexpected, waybill.Message(err), log)
		return
	}
	alg := in.req.micAlg(o.signAlg, in.partner.AllowInsecureAlgs)
	mic, err := computeMIC(o.micData, alg)
	if err != nil { // cannot happen: micAlg only returns supported algorithms
		mic = ""
	}
	log.Info("as2: message received", "partner", in.partner.ID, "hub_message_id", receipt.MessageID,
		"correlation_id", receipt.CorrelationID, "duplicate", receipt.Duplicate)
	in.correlationID = receipt.CorrelationID
	r.answer(w, in, mic, "", "", log)
}

// open checks the envelope headers and opens the S/MIME layers.
func (r *Receiver) open(ctx context.Context, in *inbound, h textproto.MIMEHeader, body []byte) (*opened, *ProcessingError) {
	switch {
	case in.msgID == "":
		return nil, fail(FailUnexpected, "missing Message-ID")
	case in.from == "" || in.to == "":
		return nil, fail(FailUnexpected, "missing AS2-From or AS2-To")
	case in.to != in.station.AS2ID:
		return nil, fail(FailUnexpected, "addressed to AS2 name %q, this station is %q", in.to, in.station.AS2ID)
	case !in.req.requiredOK:
		return nil, fail(FailUnexpected, "a required Disposition-Notification-Option cannot be honoured")
	}
	p, err := r.partners.ByAS2ID(ctx, in.from)
	if err != nil {
		return nil, fail(FailAuthentication, "unknown sender %q: %v", in.from, err)
	}
	in.partner = p
	o, err := open(topEntity(h, body), p, in.station.valid(in.now), in.now)
	if err != nil {
		var perr *ProcessingError
		if errors.As(err, &perr) {
			return nil, perr
		}
		return nil, fail(FailUnexpected, "%v", err)
	}
	switch {
	case p.Sign && !o.signed:
		return nil, fail(FailInsufficientSecurity, "partner %s must sign its messages", p.ID)
	case p.Encrypt && !o.encrypted:
		return nil, fail(FailInsufficientSecurity, "partner %s must encrypt its messages", p.ID)
	}
	return o, nil
}

func (r *Receiver) inboundMessage(in *inbound, o *opened, h textproto.MIMEHeader) waybill.InboundMessage {
	meta := map[string]string{
		MetaMessageID:  in.msgID,
		MetaFrom:       in.from,
		MetaTo:         in.to,
		MetaSubject:    in.subject,
		MetaMDNTo:      h.Get("Disposition-Notification-To"),
		MetaSigned:     boolString(o.signed),
		MetaEncrypted:  boolString(o.encrypted),
		MetaCompressed: boolString(o.compressed),
	}
	if o.signed {
		meta[MetaSignAlg] = string(o.signAlg)
		meta[MetaSigner] = fmt.Sprintf("%s serial %s", o.signer.Subject, o.signer.SerialNumber.Text(16))
	}
	if o.encrypted {
		meta[MetaEncAlg] = string(o.encAlg)
	}
	if in.req.wanted {
		meta[MetaMDNMode] = string(MDNSync)
		if in.req.asyncURL != "" {
			meta[MetaMDNMode] = string(MDNAsync)
		}
		if mic, err := computeMIC(o.micData, in.req.micAlg(o.signAlg, in.partner.AllowInsecureAlgs)); err == nil {
			meta[MetaMIC] = mic
		}
	} else {
		meta[MetaMDNMode] = string(MDNNone)
	}
	return waybill.InboundMessage{
		Channel:     waybill.ChannelAS2,
		Partner:     in.partner.ID,
		DocType:     docTypeFor(o.contentType),
		TransportID: in.msgID,
		Filename:    o.filename,
		ContentType: o.contentType,
		Meta:        meta,
		Payload:     o.payload,
		ReceivedAt:  in.now.UTC(),
	}
}

// answer sends the MDN the sender asked for, or a plain HTTP status when it asked none. f is ""
// for a positive MDN.
func (r *Receiver) answer(w http.ResponseWriter, in *inbound, mic string, f Failure, detail string, log *slog.Logger) {
	if !in.req.wanted || in.msgID == "" {
		if f != "" {
			http.Error(w, "AS2 message refused: "+string(f), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	hdr, body, err := r.buildMDN(in, mic, f, detail)
	if err != nil {
		log.Error("as2: building the MDN", "err", err)
		http.Error(w, "unable to build the MDN", http.StatusInternalServerError)
		return
	}
	if in.req.asyncURL == "" {
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		return
	}
	// Asynchronous: acknowledge the HTTP request, then post the MDN. A message that did not come
	// from a known partner gets no asynchronous MDN: its return address is not to be trusted.
	if in.partner == nil {
		http.Error(w, "AS2 message refused: "+string(f), http.StatusBadRequest)
		return
	}
	if r.opts.MDNQueue != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.opts.MDNQueue.QueueMDN(ctx, in.partner.ID, in.correlationID, in.msgID, in.req.asyncURL, hdr, body); err != nil {
			log.Error("as2: queueing the asynchronous MDN failed; the partner will resend", "err", err)
			http.Error(w, "temporarily unable to queue the MDN", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusOK)
	r.async.Add(1)
	go func() {
		defer r.async.Done()
		wait := r.opts.AsyncBackoff
		for attempt := 1; ; attempt++ {
			err := r.postMDN(in.req.asyncURL, hdr, body)
			if err == nil {
				return
			}
			if attempt >= r.opts.AsyncAttempts {
				log.Error("as2: giving up posting the asynchronous MDN", "url", in.req.asyncURL, "attempts", attempt, "err", err)
				return
			}
			log.Warn("as2: posting the asynchronous MDN", "url", in.req.asyncURL, "attempt", attempt, "err", err)
			time.Sleep(wait)
			wait *= 2
		}
	}()
}

// buildMDN renders the MDN as HTTP headers and body.
func (r *Receiver) buildMDN(in *inbound, mic string, f Failure, detail string) (http.Header, []byte, error) {
	text := mdnText(in.msgID, f, detail, in.now)
	ent := buildReport(r.opts.ReportingUA, in.station.AS2ID, in.msgID, mic, f, text, newBoundary())
	if in.req.signed {
		alg := SHA256
		if in.partner != nil {
			alg = in.req.micAlg("", in.partner.AllowInsecureAlgs)
		}
		kp, err := in.station.signer(in.now)
		if err != nil {
			return nil, nil, err
		}
		if ent, err = signEntity(ent, kp, alg); err != nil {
			return nil, nil, err
		}
	}
	e, err := parseEntity(ent)
	if err != nil {
		return nil, nil, err
	}
	hdr := http.Header{}
	for k, v := range e.header {
		hdr[k] = v
	}
	as2Headers(hdr, in.station.AS2ID, in.from, newMessageID(in.station.AS2ID), in.now)
	hdr.Set("Subject", "Message Disposition Notification")
	return hdr, e.body, nil
}

// postMDN delivers an asynchronous MDN (RFC 4130 §7.3).
func (r *Receiver) postMDN(target string, hdr http.Header, body []byte) error {
	return PostMDN(context.Background(), r.opts.Client, target, hdr, body)
}

// PostMDN posts an asynchronous MDN to target (an http or https URL from the partner's
// Receipt-Delivery-Option) and reports whether the partner's side took it (any 2xx).
func PostMDN(ctx context.Context, client *http.Client, target string, hdr http.Header, body []byte) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("receipt delivery option %q is not an http(s) URL", target)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = hdr.Clone()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("asynchronous MDN answered %s", resp.Status)
	}
	return nil
}
