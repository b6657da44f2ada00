package hub

import "github.com/waybill-hub/waybill/internal/jobs"

// ProcessMessage decodes a stored inbound message into orders.
type ProcessMessage struct {
	MessageID     string `json:"message_id"`
	CorrelationID string `json:"correlation_id"`
	Partner       string `json:"partner"`
	// Trace is the trace context of the message's receipt, in a process_messages job (a
	// process_message job carries its own in its metadata).
	Trace map[string]string `json:"trace,omitempty"`
}

// Kind implements river.JobArgs.
func (ProcessMessage) Kind() string { return "process_message" }

// Subject implements jobs.Args.
func (a ProcessMessage) Subject() jobs.Subject {
	return jobs.Subject{MessageID: a.MessageID, CorrelationID: a.CorrelationID, Partner: a.Partner}
}

// SubmitOrder resolves a validated order against the ERP's master data and has the ERP create
// and confirm it.
type SubmitOrder struct {
	OrderID       string `json:"order_id"`
	CorrelationID string `json:"correlation_id"`
	Partner       string `json:"partner"`
}

// Kind implements river.JobArgs.
func (SubmitOrder) Kind() string { return "submit_order" }

// Subject implements jobs.Args.
func (a SubmitOrder) Subject() jobs.Subject {
	return jobs.Subject{OrderID: a.OrderID, CorrelationID: a.CorrelationID, Partner: a.Partner}
}
