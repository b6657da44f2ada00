package odoosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

var bearerRe = regexp.MustCompile(`(?i)^bearer\s+(.+)$`)

// serveJSON2 answers POST /json/2/<model>/<method> (Odoo 19). The body holds
// named arguments only: ids, context and the method's own parameters.
func (s *Server) serveJSON2(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/json/2/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		writeJSON2Error(w, http.StatusNotFound, &Error{Class: "werkzeug.exceptions.NotFound", Message: "Did you mean POST /json/2/<model>/<method>?"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSON2Error(w, http.StatusMethodNotAllowed, &Error{Class: "werkzeug.exceptions.MethodNotAllowed", Message: "The method is not allowed for the requested URL."})
		return
	}
	model, name := parts[0], parts[1]
	var uid int
	if m := bearerRe.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		uid = s.keyUser(strings.TrimSpace(m[1]))
	}
	if uid == 0 {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSON2Error(w, http.StatusUnauthorized, &Error{Class: "werkzeug.exceptions.Unauthorized", Message: "Invalid apikey"})
		return
	}
	if db := r.Header.Get("X-Odoo-Database"); db != "" && db != s.opts.Database {
		writeJSON2Error(w, http.StatusNotFound, &Error{Class: "werkzeug.exceptions.NotFound", Message: fmt.Sprintf("database %q not found", db)})
		return
	}
	body := map[string]any{}
	raw, _ := io.ReadAll(r.Body)
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			writeJSON2Error(w, http.StatusBadRequest, &Error{Class: "werkzeug.exceptions.BadRequest", Message: "could not parse the body as json: " + err.Error()})
			return
		}
		obj, ok := normalize(v).(map[string]any)
		if !ok {
			writeJSON2Error(w, http.StatusBadRequest, &Error{Class: "werkzeug.exceptions.BadRequest", Message: "could not parse the body, expecting a json object"})
			return
		}
		body = obj
	}
	m := s.models[model]
	if m == nil {
		writeJSON2Error(w, http.StatusNotFound, &Error{Class: "werkzeug.exceptions.NotFound", Message: fmt.Sprintf("the model '%s' does not exist", model)})
		return
	}
	_, mt, err := s.lookup(model, name)
	if err != nil {
		e := asError(err)
		if e.Class == "builtins.AttributeError" {
			writeJSON2Error(w, http.StatusNotFound, &Error{Class: "werkzeug.exceptions.NotFound", Message: e.Message})
			return
		}
		writeJSON2Error(w, e.Status, e)
		return
	}
	ids, ok := asIDs(body["ids"])
	if !ok {
		writeJSON2Error(w, http.StatusUnprocessableEntity, &Error{Class: "werkzeug.exceptions.UnprocessableEntity", Message: "ids must be a list of integers"})
		return
	}
	if mt.modelLevel && len(ids) > 0 {
		writeJSON2Error(w, http.StatusUnprocessableEntity, &Error{Class: "werkzeug.exceptions.UnprocessableEntity", Message: fmt.Sprintf("cannot call %s.%s with ids", model, name)})
		return
	}
	callCtx, _ := body["context"].(map[string]any)
	kwargs := map[string]any{}
	for k, v := range body {
		if k != "ids" && k != "context" {
			kwargs[k] = v
		}
	}
	bound := map[string]any{}
	if err := mt.bindKeywords("", bound, kwargs, false); err != nil {
		e := asError(err)
		writeJSON2Error(w, e.Status, e)
		return
	}
	res, err := s.invoke(r.Context(), "json2", uid, m, mt, ids, bound, callCtx)
	if err != nil {
		e := asError(err)
		writeJSON2Error(w, e.Status, e)
		return
	}
	if id, ok := res.(int); ok && mt.name == "create" {
		// JSON-2 turns a recordset result into its ids: create returns a
		// list even for a single dict.
		res = []any{id}
	}
	writeJSON(w, http.StatusOK, res)
}

func writeJSON2Error(w http.ResponseWriter, status int, e *Error) {
	writeJSON(w, status, serializeException(e))
}
