package waybill

import (
	"context"
	"time"
)

// InboundMessage is what a channel (AS2, SFTP, HTTP, folder, portal) hands to the hub: the raw
// bytes exactly as received and the transport facts around them.
type InboundMessage struct {
	Channel     Channel           `json:"channel"`
	Partner     string            `json:"partner"`
	DocType     string            `json:"doc_type,omitempty"`     // "x12", "csv-order", "portal-order"; "" to detect
	TransportID string            `json:"transport_id,omitempty"` // AS2 Message-ID, remote file path, Idempotency-Key
	Filename    string            `json:"filename,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"` // transport headers worth keeping (AS2-From, MIC, ...)
	Payload     []byte            `json:"-"`
	ReceivedAt  time.Time         `json:"received_at"`
}

// Receipt is the hub's answer to an InboundMessage. It is returned only once the message is
// durable, so a channel may acknowledge its sender (MDN, SFTP delete, HTTP 202) exactly then.
type Receipt struct {
	MessageID     string `json:"message_id"`
	CorrelationID string `json:"correlation_id"`
	Digest        string `json:"digest"` // SHA-256 of the payload, hex
	// Duplicate is set when the same payload (by digest) or the same TransportID from the same
	// partner was received before: nothing new is processed, and DuplicateOf names the original.
	Duplicate   bool   `json:"duplicate,omitempty"`
	DuplicateOf string `json:"duplicate_of,omitempty"`
}

// Intake is the one receipt path every channel uses. Receive stores the message (raw bytes,
// SHA-256 digest, channel, partner, time) and schedules its processing in one transaction, then
// returns. It is safe for concurrent use. An error means nothing was stored: the channel must not
// acknowledge and the sender should retry.
type Intake interface {
	Receive(ctx context.Context, msg InboundMessage) (Receipt, error)
}

// OutboundMessage is a rendered document for a partner (an 855, an 856, a webhook body).
type OutboundMessage struct {
	ID            string            `json:"id"`
	CorrelationID string            `json:"correlation_id"`
	Partner       string            `json:"partner"`
	Channel       Channel           `json:"channel"`
	DocType       string            `json:"doc_type"` // "855", "856", "810", "997", "webhook"
	Filename      string            `json:"filename,omitempty"`
	ContentType   string            `json:"content_type,omitempty"`
	Meta          map[string]string `json:"meta,omitempty"`
	Payload       []byte            `json:"-"`
}

// SendResult is the receipt of an outbound message, as far as the transport can tell.
type SendResult struct {
	TransportID string            `json:"transport_id,omitempty"` // AS2 Message-ID, remote path
	Meta        map[string]string `json:"meta,omitempty"`         // MDN disposition, MIC, ...
	At          time.Time         `json:"at"`
}

// Sender delivers outbound messages over one transport. Send returns once the partner's side has
// taken the message (HTTP 2xx and a good synchronous MDN, a renamed remote file); errors are coded
// (EUNAVAILABLE retries, anything else dead-letters the delivery).
type Sender interface {
	Send(ctx context.Context, msg OutboundMessage) (SendResult, error)
}
