// Package as2 sends and receives EDI over AS2 (RFC 4130): S/MIME signing, encryption and
// compression (RFC 5402), message disposition notifications (MDNs, synchronous and asynchronous)
// with their MIC, and per-partner certificates with rollover.
//
// A Receiver is an http.Handler that unwraps an inbound AS2 message, hands the EDI payload to the
// hub's waybill.Intake and answers with an MDN only once the hub reports the message durable. A
// Sender implements waybill.Sender: it wraps a document as the partner's profile asks, posts it
// and checks the MDN. The package owns the CMS structures the S/MIME library lacks
// (AuthEnvelopedData with AES-GCM, CompressedData); signing and signature checks use
// github.com/smallstep/pkcs7.
package as2
