package odoo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/waybill-hub/waybill"
)

// Kind classifies an Odoo error. Only KindTransient is retried.
type Kind string

const (
	KindAuth       Kind = "auth"       // Bad login, password or API key (AccessDenied, HTTP 401). EUNAUTHORIZED.
	KindAccess     Kind = "access"     // Authenticated but not allowed: AccessError, private method (HTTP 403). EFORBIDDEN.
	KindValidation Kind = "validation" // UserError, ValidationError, RedirectWarning: a business rejection. EREJECTED.
	KindMissing    Kind = "missing"    // MissingError, unknown model or method (HTTP 404). ENOTFOUND.
	KindTransient  Kind = "transient"  // Connection refused/reset, time-out, 429, 5xx, serialization failure. EUNAVAILABLE.
	KindInvalid    Kind = "invalid"    // The call itself is malformed (HTTP 422 signature mismatch, bad arguments). EINVALID.
	KindInternal   Kind = "internal"   // A server-side bug (TypeError, KeyError, ...) or an unreadable reply. EINTERNAL.
)

// ErrBreakerOpen is wrapped by the error a call returns, without reaching Odoo, while the circuit
// breaker is open. Its Error has KindTransient and RetryAfter set to the remaining cool-down.
var ErrBreakerOpen = errors.New("odoo: circuit breaker open")

// Error is an error reported by Odoo or met while talking to it.
type Error struct {
	Kind       Kind
	Name       string        // Odoo's exception class, e.g. "odoo.exceptions.UserError"; "" for transport faults
	Message    string        // Odoo's message, for people (the first line of a traceback's last line)
	Status     int           // HTTP status, when there was one
	Model      string        // the model called
	Method     string        // the method called
	RetryAfter time.Duration // a suggested wait before trying again (breaker, 429 Retry-After)
	Debug      string        // Odoo's traceback, for logs only
	Err        error         // the underlying cause
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("odoo")
	if e.Model != "" {
		b.WriteString(" " + e.Model)
		if e.Method != "" {
			b.WriteString("." + e.Method)
		}
	}
	b.WriteString(": ")
	switch {
	case e.Message != "":
		b.WriteString(e.Message)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString(string(e.Kind))
	}
	if e.Name != "" {
		fmt.Fprintf(&b, " (%s)", e.Name)
	} else if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Code maps the kind to Waybill's error code, so that waybill.Code(err) works on it.
func (e *Error) Code() waybill.ErrorCode {
	switch e.Kind {
	case KindAuth:
		return waybill.EUNAUTHORIZED
	case KindAccess:
		return waybill.EFORBIDDEN
	case KindValidation:
		return waybill.EREJECTED
	case KindMissing:
		return waybill.ENOTFOUND
	case KindTransient:
		return waybill.EUNAVAILABLE
	case KindInvalid:
		return waybill.EINVALID
	}
	return waybill.EINTERNAL
}

// Temporary reports whether the error is transient.
func (e *Error) Temporary() bool { return e.Kind == KindTransient }

// IsKind reports whether err is, or wraps, an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// kindOfName classifies an Odoo exception by its class name. ok is false for names it does not know.
func kindOfName(name, message string) (Kind, bool) {
	short := name
	if i := strings.LastIndexByte(short, '.'); i >= 0 {
		short = short[i+1:]
	}
	switch short {
	case "AccessDenied":
		return KindAuth, true
	case "AccessError":
		return KindAccess, true
	case "MissingError":
		return KindMissing, true
	case "UserError", "ValidationError", "RedirectWarning", "Warning", "except_orm", "LockError":
		return KindValidation, true
	case "SessionExpiredException":
		return KindAuth, true
	case "SerializationFailure", "TransactionRollbackError", "DeadlockDetected", "LockNotAvailable",
		"OperationalError", "InterfaceError", "PoolError", "ServiceUnavailable", "TooManyRequests", "GatewayTimeout":
		return KindTransient, true
	case "Unauthorized":
		return KindAuth, true
	case "Forbidden":
		return KindAccess, true
	case "NotFound":
		return KindMissing, true
	case "UnprocessableEntity", "BadRequest":
		return KindInvalid, true
	case "TypeError", "ValueError", "KeyError", "AttributeError", "IndexError", "RuntimeError", "AssertionError":
		if isSerializationText(message) {
			return KindTransient, true
		}
		return KindInternal, true
	}
	return "", false
}

// isSerializationText reports whether a message or traceback shows a PostgreSQL concurrency
// failure that Odoo gave up retrying.
func isSerializationText(s string) bool {
	return strings.Contains(s, "could not serialize access") ||
		strings.Contains(s, "SerializationFailure") ||
		strings.Contains(s, "deadlock detected") ||
		strings.Contains(s, "TransactionRollbackError") ||
		strings.Contains(s, "could not obtain lock")
}

// kindOfStatus classifies an HTTP status that came without a recognisable Odoo exception.
func kindOfStatus(status int) Kind {
	switch {
	case status == http.StatusUnauthorized:
		return KindAuth
	case status == http.StatusForbidden:
		return KindAccess
	case status == http.StatusNotFound:
		return KindMissing
	case status == http.StatusUnprocessableEntity, status == http.StatusBadRequest:
		return KindInvalid
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return KindTransient
	}
	return KindInternal
}

// classifyHTTP builds the error for an HTTP reply that carried an Odoo exception (name may be
// empty). The exception name decides, then the status.
func classifyHTTP(status int, name, message, debug string) *Error {
	e := &Error{Status: status, Name: name, Message: firstLine(message), Debug: debug}
	if k, ok := kindOfName(name, message+"\n"+debug); ok {
		e.Kind = k
	} else if isSerializationText(message + debug) {
		e.Kind = KindTransient
	} else {
		e.Kind = kindOfStatus(status)
	}
	// An AccessError on a 401 is the bad key; a 5xx is transient unless the exception says otherwise.
	if status == http.StatusUnauthorized {
		e.Kind = KindAuth
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// classifyTransport classifies an error from the HTTP client: every network failure is
// transient, as is a deadline; a cancelled context is returned as is.
func classifyTransport(ctx context.Context, err error) error {
	if ctx.Err() == context.Canceled {
		return ctx.Err()
	}
	e := &Error{Kind: KindTransient, Err: err}
	switch {
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		e.Message = "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Message = "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		e.Message = "connection reset"
	default:
		e.Message = "connection failed"
	}
	return e
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// notExecuted reports whether a failed call certainly did not run in Odoo, so that even a write
// may be retried: connection refused, 429, an open breaker, a serialization failure (Odoo rolled
// the transaction back).
func notExecuted(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindTransient {
		return false
	}
	if errors.Is(err, ErrBreakerOpen) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		return true
	}
	return e.Name != "" && isSerializationText(e.Name+" "+e.Message+" "+e.Debug)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 && strings.HasPrefix(s, "Traceback") {
		// A traceback: keep its last line, which holds the exception.
		lines := strings.Split(s, "\n")
		for j := len(lines) - 1; j >= 0; j-- {
			if l := strings.TrimSpace(lines[j]); l != "" {
				return l
			}
		}
		return s[:i]
	}
	return s
}

// Wait is how long a job should wait before trying Odoo again: the remaining cooldown of an open
// circuit breaker, or Odoo's Retry-After. The job queue snoozes a job for it instead of spending
// one of its retries, so an outage longer than the retry budget loses nothing.
func (e *Error) Wait() time.Duration {
	if e.Kind != KindTransient {
		return 0
	}
	return e.RetryAfter
}
