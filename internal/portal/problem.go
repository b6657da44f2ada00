package portal

import (
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill-hub/waybill"
)

// ProblemBase prefixes the stable type of every problem (RFC 9457) the API returns; the rest is
// the problem's name, listed in docs/portal.md.
const ProblemBase = "urn:waybill:problem:"

// Problem names. Each is stable: clients may switch on them.
const (
	ProbBadRequest          = "bad_request"
	ProbUnauthorized        = "unauthorized"
	ProbForbidden           = "forbidden"
	ProbNotFound            = "not_found"
	ProbConflict            = "conflict"
	ProbValidation          = "validation"
	ProbRateLimited         = "rate_limited"
	ProbIdempotencyConflict = "idempotency_conflict"
	ProbIdempotencyRequired = "idempotency_key_required"
	ProbOrderRejected       = "order_rejected"
	ProbOrderOnHold         = "order_on_hold"
	ProbNotEditable         = "order_not_editable"
	ProbPrecondition        = "precondition_failed"
	ProbPreconditionNeeded  = "precondition_required"
	ProbReturnInvalid       = "return_invalid"
	ProbNotImplemented      = "not_implemented"
	ProbUnavailable         = "unavailable"
	ProbInternal            = "internal"
	ProbNotModified         = "not_modified"
)

var statusProblem = map[int]string{
	http.StatusBadRequest: ProbBadRequest, http.StatusUnauthorized: ProbUnauthorized, http.StatusForbidden: ProbForbidden,
	http.StatusNotFound: ProbNotFound, http.StatusConflict: ProbConflict, http.StatusUnprocessableEntity: ProbValidation,
	http.StatusTooManyRequests: ProbRateLimited, http.StatusPreconditionFailed: ProbPrecondition,
	http.StatusPreconditionRequired: ProbPreconditionNeeded, http.StatusNotImplemented: ProbNotImplemented,
	http.StatusServiceUnavailable: ProbUnavailable, http.StatusInternalServerError: ProbInternal,
	http.StatusNotModified: ProbNotModified, http.StatusRequestEntityTooLarge: ProbBadRequest,
	http.StatusMethodNotAllowed: ProbBadRequest, http.StatusNotAcceptable: ProbBadRequest,
	http.StatusUnsupportedMediaType: ProbBadRequest,
}

func init() {
	// Every error huma writes (its own validation errors included) carries a stable type.
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		details := make([]*huma.ErrorDetail, 0, len(errs))
		for _, e := range errs {
			if e == nil {
				continue
			}
			if d, ok := e.(huma.ErrorDetailer); ok {
				details = append(details, d.ErrorDetail())
			} else {
				details = append(details, &huma.ErrorDetail{Message: e.Error()})
			}
		}
		name, ok := statusProblem[status]
		if !ok {
			name = ProbBadRequest
			if status >= 500 {
				name = ProbInternal
			}
		}
		return &huma.ErrorModel{Type: ProblemBase + name, Title: http.StatusText(status), Status: status, Detail: msg, Errors: details}
	}
}

// problem returns an RFC 9457 problem of the named type.
func problem(status int, name, detail string, details ...*huma.ErrorDetail) error {
	return &huma.ErrorModel{Type: ProblemBase + name, Title: http.StatusText(status), Status: status, Detail: detail, Errors: details}
}

// notFound is the one answer for a resource that does not exist and for one of another account.
func notFound(what string) error {
	return problem(http.StatusNotFound, ProbNotFound, "no such "+what)
}

// fromErr turns an error from the hub, the store or the ERP into a problem. Internal errors are
// reported without their detail.
func fromErr(err error) error {
	var sm huma.StatusError
	if errors.As(err, &sm) {
		return err
	}
	switch waybill.Code(err) {
	case waybill.ENOTFOUND:
		return problem(http.StatusNotFound, ProbNotFound, waybill.Message(err))
	case waybill.EINVALID:
		return problem(http.StatusUnprocessableEntity, ProbValidation, waybill.Message(err))
	case waybill.ECONFLICT:
		return problem(http.StatusConflict, ProbConflict, waybill.Message(err))
	case waybill.EREJECTED:
		return problem(http.StatusUnprocessableEntity, ProbOrderRejected, waybill.Message(err))
	case waybill.EUNAVAILABLE:
		return problem(http.StatusServiceUnavailable, ProbUnavailable, "the ERP is unavailable; try again later")
	}
	return problem(http.StatusInternalServerError, ProbInternal, "internal error")
}
