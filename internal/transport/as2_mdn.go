package transport

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/as2"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/store"
)

// ChannelAS2MDN carries the asynchronous MDNs the hub owes its partners through the outbound
// pipeline: stored, retried with backoff, dead-lettered and replayable like any document.
const ChannelAS2MDN waybill.Channel = "as2-mdn"

// mdnQueue stores an asynchronous MDN as an outbound message (as2.AsyncMDNQueue).
type mdnQueue struct{ h *hub.Hub }

func (q mdnQueue) QueueMDN(ctx context.Context, partnerID, correlationID, messageID, url string, header http.Header, body []byte) error {
	hdr, err := json.Marshal(header)
	if err != nil {
		return err
	}
	return q.h.DB().InTx(ctx, func(tx *store.Tx) error {
		_, err := q.h.Emit(ctx, tx, &waybill.OutboundMessage{CorrelationID: correlationID, Partner: partnerID, Channel: ChannelAS2MDN,
			DocType: "mdn", ContentType: header.Get("Content-Type"), Meta: map[string]string{"url": url, "header": string(hdr),
				"as2_message_id": messageID}, Payload: body}, messageID)
		return err
	})
}

// mdnPoster posts a queued asynchronous MDN (waybill.Sender for ChannelAS2MDN).
type mdnPoster struct{ client *http.Client }

func (p mdnPoster) Send(ctx context.Context, m waybill.OutboundMessage) (waybill.SendResult, error) {
	var header http.Header
	if err := json.Unmarshal([]byte(m.Meta["header"]), &header); err != nil {
		return waybill.SendResult{}, waybill.Errorf(waybill.EINVALID, "mdn_header", "the stored MDN headers cannot be read: %v", err)
	}
	if err := as2.PostMDN(ctx, p.client, m.Meta["url"], header, m.Payload); err != nil {
		return waybill.SendResult{}, waybill.Unavailable(err, "posting the asynchronous MDN for %s to %s", m.Meta["as2_message_id"], m.Meta["url"])
	}
	return waybill.SendResult{TransportID: m.Meta["as2_message_id"], At: time.Now().UTC()}, nil
}
