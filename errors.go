package waybill

import (
	"errors"
	"fmt"
)

// ErrorCode classifies an error for the pipeline and for people. The pipeline decides by code
// alone whether to retry: EUNAVAILABLE retries with backoff; every other coded error is permanent
// and dead-letters at once with its reason. An error without a code is internal: it retries up to
// the limit, then dead-letters as "internal".
type ErrorCode string

const (
	EINVALID      ErrorCode = "invalid"      // Bad input: syntax, mapping, partner rules. Permanent.
	ENOTFOUND     ErrorCode = "not_found"    // A referenced record does not exist. Permanent.
	ECONFLICT     ErrorCode = "conflict"     // State does not allow it (duplicate, illegal transition). Permanent.
	EREJECTED     ErrorCode = "rejected"     // A business rejection by the ERP (its message attached). Permanent.
	EUNAUTHORIZED ErrorCode = "unauthorized" // Credentials missing or wrong. Permanent until fixed.
	EFORBIDDEN    ErrorCode = "forbidden"    // Authenticated, but not allowed. Permanent until fixed.
	EUNAVAILABLE  ErrorCode = "unavailable"  // A dependency is down or slow; retry later. Transient.
	EINTERNAL     ErrorCode = "internal"     // A bug or an unexpected state. Not shown in detail to users.
)

// Location says where in a document an error was found. Fields that do not apply stay zero.
type Location struct {
	Partner     string `json:"partner,omitempty"`
	Document    string `json:"document,omitempty"`         // "850 PO 4500012345", "portal order 17"
	Interchange string `json:"interchange,omitempty"`      // ISA13
	Group       string `json:"group,omitempty"`            // GS06
	Set         string `json:"set,omitempty"`              // ST02
	Segment     string `json:"segment,omitempty"`          // segment id, e.g. PO1
	SegmentPos  int    `json:"segment_position,omitempty"` // 1-based position in the set
	Element     int    `json:"element,omitempty"`          // 1-based element position
	Line        string `json:"line,omitempty"`             // the order line number
	Field       string `json:"field,omitempty"`            // a portal or CSV field name
	Row         int    `json:"row,omitempty"`              // a CSV row
}

// String renders the location for a person, e.g. "partner acme, 850 PO 123, segment PO1 #7 element 4".
func (l Location) String() string {
	var s string
	add := func(k, v string) {
		if v == "" {
			return
		}
		if s != "" {
			s += ", "
		}
		s += k + v
	}
	add("partner ", l.Partner)
	add("", l.Document)
	add("interchange ", l.Interchange)
	add("group ", l.Group)
	add("set ", l.Set)
	if l.Segment != "" {
		seg := l.Segment
		if l.SegmentPos > 0 {
			seg += fmt.Sprintf(" #%d", l.SegmentPos)
		}
		if l.Element > 0 {
			seg += fmt.Sprintf(" element %02d", l.Element)
		}
		add("segment ", seg)
	}
	add("line ", l.Line)
	add("field ", l.Field)
	if l.Row > 0 {
		add("row ", fmt.Sprint(l.Row))
	}
	return s
}

// Error is a coded error meant to be read by an operator or a partner: Message is written for
// them, Reason is a stable machine code for grouping dead letters ("unknown_item",
// "price_mismatch", "x12_syntax"), and Where locates it. Err is the cause, for logs.
type Error struct {
	Code    ErrorCode
	Reason  string
	Message string
	Where   Location
	Err     error
}

func (e *Error) Error() string {
	msg := e.Message
	if loc := e.Where.String(); loc != "" {
		msg = loc + ": " + msg
	}
	if e.Err != nil {
		if msg == "" {
			return e.Err.Error()
		}
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code ErrorCode, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Unavailable wraps err as a transient error: the pipeline retries it with backoff.
func Unavailable(err error, format string, args ...any) *Error {
	return &Error{Code: EUNAVAILABLE, Reason: "unavailable", Message: fmt.Sprintf(format, args...), Err: err}
}

// coder is implemented by error types that carry an ErrorCode of their own.
type coder interface{ Code() ErrorCode }

// Code returns the code of the first coded error in err's chain, EINTERNAL for an uncoded error,
// and "" for nil.
func Code(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	var c coder
	if errors.As(err, &c) {
		return c.Code()
	}
	return EINTERNAL
}

// Reason returns the machine reason of the first *Error in err's chain that has one, or the code.
func Reason(err error) string {
	var e *Error
	for err != nil {
		if errors.As(err, &e) {
			if e.Reason != "" {
				return e.Reason
			}
			err = e.Err
			continue
		}
		break
	}
	return string(Code(err))
}

// Message returns the text to show a user: the coded message (with its location) for a coded
// error, and a generic sentence for an internal one, whose detail belongs in the logs.
func Message(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Error()
	}
	if Code(err) != EINTERNAL {
		return err.Error()
	}
	return "internal error"
}

// IsTransient reports whether the pipeline should retry err: EUNAVAILABLE, or an uncoded error
// (which may be a passing fault) while retries remain.
func IsTransient(err error) bool {
	c := Code(err)
	return c == EUNAVAILABLE || c == EINTERNAL
}

// IsPermanent reports whether err must dead-letter at once without retrying.
func IsPermanent(err error) bool { return err != nil && !IsTransient(err) }
