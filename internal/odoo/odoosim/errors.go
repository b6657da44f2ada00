package odoosim

import (
	"fmt"
	"net/http"
	"strings"
)

// Error is an exception raised inside the simulated server. Each protocol
// renders it the way Odoo renders the corresponding Python exception.
type Error struct {
	// Class is the qualified Python class name, for example
	// "odoo.exceptions.UserError" or "builtins.TypeError".
	Class string
	// Message is str(exception).
	Message string
	// Status is the HTTP status JSON-2 answers with.
	Status int
	// FaultCode is the XML-RPC faultCode on /xmlrpc/2 (1 application error with
	// a traceback as faultString, 2 warning, 3 access denied, 4 access error).
	FaultCode int
}

func (e *Error) Error() string { return e.Class + ": " + e.Message }

// traceback is the text Odoo puts in "debug" and in XML-RPC application
// faults: a Python traceback ending with the exception line.
func (e *Error) traceback() string {
	return "Traceback (most recent call last):\n  File \"odoosim\", line 1, in dispatch\n" +
		strings.TrimPrefix(e.Class, "builtins.") + ": " + e.Message + "\n"
}

// Exception constructors, mirroring odoo.exceptions and the Python builtins
// the ORM raises. Status and fault codes are those of Odoo 19.

func userError(format string, a ...any) *Error {
	return &Error{"odoo.exceptions.UserError", fmt.Sprintf(format, a...), http.StatusUnprocessableEntity, 2}
}

func validationError(format string, a ...any) *Error {
	return &Error{"odoo.exceptions.ValidationError", fmt.Sprintf(format, a...), http.StatusUnprocessableEntity, 2}
}

func missingError(model string, ids []int, uid int) *Error {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	msg := fmt.Sprintf("Record does not exist or has been deleted.\n(Record: %s(%s,), User: %d)", model, strings.Join(parts, ", "), uid)
	return &Error{"odoo.exceptions.MissingError", msg, http.StatusNotFound, 2}
}

func accessError(format string, a ...any) *Error {
	return &Error{"odoo.exceptions.AccessError", fmt.Sprintf(format, a...), http.StatusForbidden, 4}
}

func accessDenied() *Error {
	return &Error{"odoo.exceptions.AccessDenied", "Access Denied", http.StatusForbidden, 3}
}

func typeError(format string, a ...any) *Error {
	return &Error{"builtins.TypeError", fmt.Sprintf(format, a...), http.StatusInternalServerError, 1}
}

func valueError(format string, a ...any) *Error {
	return &Error{"builtins.ValueError", fmt.Sprintf(format, a...), http.StatusInternalServerError, 1}
}

func attributeError(format string, a ...any) *Error {
	return &Error{"builtins.AttributeError", fmt.Sprintf(format, a...), http.StatusInternalServerError, 1}
}

func serializationFailure() *Error {
	return &Error{"psycopg2.errors.SerializationFailure", "could not serialize access due to concurrent update\n", http.StatusInternalServerError, 1}
}

// asError converts any error into an *Error (an internal error for anything
// that is not already one).
func asError(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{"builtins.RuntimeError", err.Error(), http.StatusInternalServerError, 1}
}
