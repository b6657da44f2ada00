package odoosim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// rpc dispatches a call of the legacy RPC services (common, object, db)
// shared by JSON-RPC and XML-RPC.
func (s *Server) rpc(ctx context.Context, proto, service, name string, args []any) (any, error) {
	arg := func(i int) any {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	switch service {
	case "common":
		switch name {
		case "version":
			return s.commonVersion(), nil
		case "login", "authenticate":
			if len(args) < 3 {
				return nil, typeError("%s() missing required positional arguments", name)
			}
			if uid := s.authenticate(asString(arg(0)), asString(arg(1)), asString(arg(2))); uid != 0 {
				return uid, nil
			}
			return false, nil
		case "about":
			return "See http://openerp.com", nil
		}
	case "db":
		switch name {
		case "list":
			return []any{s.opts.Database}, nil
		case "server_version":
			return s.opts.Version, nil
		case "db_exist":
			return asString(arg(0)) == s.opts.Database, nil
		}
	case "object":
		switch name {
		case "execute_kw", "execute":
			return s.executeKw(ctx, proto, name, args)
		}
	default:
		return nil, &Error{"builtins.KeyError", fmt.Sprintf("'%s'", service), http.StatusInternalServerError, 1}
	}
	return nil, &Error{"builtins.NameError", fmt.Sprintf("Method not available %s", name), http.StatusInternalServerError, 1}
}

// executeKw implements object.execute_kw(db, uid, password, model, method,
// args, kwargs) and object.execute(db, uid, password, model, method, *args).
func (s *Server) executeKw(ctx context.Context, proto, name string, args []any) (any, error) {
	if len(args) < 5 {
		return nil, typeError("%s() missing required positional arguments", name)
	}
	db := asString(args[0])
	if db != s.opts.Database {
		return nil, &Error{"psycopg2.OperationalError", fmt.Sprintf("connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: FATAL:  database \"%s\" does not exist\n", db), http.StatusInternalServerError, 1}
	}
	uid, _ := asInt(args[1])
	if !s.checkUser(uid, asString(args[2])) {
		return nil, accessDenied()
	}
	model, mname := asString(args[3]), asString(args[4])
	var pos []any
	var kwargs map[string]any
	if name == "execute" {
		pos = args[5:]
	} else {
		if len(args) > 5 {
			switch x := args[5].(type) {
			case []any:
				pos = x
			case nil:
			default:
				return nil, typeError("execute_kw() args must be a list, got %s", pyRepr(x))
			}
		}
		if len(args) > 6 {
			kwargs, _ = args[6].(map[string]any)
		}
	}
	m, mt, err := s.lookup(model, mname)
	if err != nil {
		return nil, err
	}
	ids, bound, err := mt.bindPositional(model, pos, kwargs)
	if err != nil {
		return nil, err
	}
	callCtx, _ := kwargs["context"].(map[string]any)
	return s.invoke(ctx, proto, uid, m, mt, ids, bound, callCtx)
}

// serveJSONRPC answers POST /jsonrpc.
func (s *Server) serveJSONRPC(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     any `json:"id"`
		Params struct {
			Service string `json:"service"`
			Method  string `json:"method"`
			Args    []any  `json:"args"`
		} `json:"params"`
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		writeJSONRPCError(w, nil, &Error{"werkzeug.exceptions.BadRequest", "Invalid JSON data: " + err.Error(), http.StatusBadRequest, 1})
		return
	}
	req.ID = normalize(req.ID)
	args := normalize(req.Params.Args)
	list, _ := args.([]any)
	res, err := s.rpc(r.Context(), "jsonrpc", req.Params.Service, req.Params.Method, list)
	if err != nil {
		writeJSONRPCError(w, req.ID, asError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": res})
}

// serializeException is the "data" object Odoo builds for an exception.
func serializeException(e *Error) map[string]any {
	return map[string]any{
		"name":      e.Class,
		"message":   e.Message,
		"arguments": []any{e.Message},
		"context":   map[string]any{},
		"debug":     e.traceback(),
	}
}

func writeJSONRPCError(w http.ResponseWriter, id any, e *Error) {
	writeJSON(w, http.StatusOK, map[string]any{
		"jsonrpc": "2.0",
		"id":      id,
		"error": map[string]any{
			"code":    200,
			"message": "Odoo Server Error",
			"data":    serializeException(e),
		},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"name":"builtins.TypeError","message":"result is not JSON serializable"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}
