package odoosim

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// serveXMLRPC answers POST /xmlrpc/2/<service> with integer fault codes, as
// Odoo's /xmlrpc/2 endpoints do, or the legacy /xmlrpc/<service> with
// string fault codes (stringFaults).
func (s *Server) serveXMLRPC(w http.ResponseWriter, r *http.Request, service string, stringFaults bool) {
	fault := writeXMLRPCFault
	if stringFaults {
		fault = writeXMLRPCStringFault
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	name, params, err := decodeMethodCall(r.Body)
	if err != nil {
		fault(w, &Error{"xml.parsers.expat.ExpatError", err.Error(), 500, 1})
		return
	}
	res, err := s.rpc(r.Context(), "xmlrpc", service, name, params)
	if err != nil {
		fault(w, asError(err))
		return
	}
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n")
	if err := encodeValue(&b, res); err != nil {
		// Odoo's marshaller has allow_none=False: the method already ran and
		// committed, yet the client gets a fault.
		fault(w, &Error{Class: "builtins.TypeError", Message: err.Error(), FaultCode: 1})
		return
	}
	b.WriteString("</param>\n</params>\n</methodResponse>\n")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(b.Bytes())
}

// writeXMLRPCFault renders an exception as xmlrpc_handle_exception_int does:
// warnings (UserError and subclasses) code 2 with str(e), AccessDenied 3,
// AccessError 4, anything else code 1 with the formatted traceback.
func writeXMLRPCFault(w http.ResponseWriter, e *Error) {
	code := e.FaultCode
	msg := e.Message
	if code == 0 || code == 1 {
		code = 1
		msg = e.traceback()
	}
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n")
	encodeValue(&b, map[string]any{"faultCode": code, "faultString": msg})
	b.WriteString("</fault>\n</methodResponse>\n")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(b.Bytes())
}

// xmlEscaper escapes like Python's xmlrpc.client: only &, < and >.
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// writeXMLRPCStringFault renders an exception as the legacy
// xmlrpc_handle_exception_string does: "warning -- <Class>\n\n<message>"
// as faultCode for user errors, "AccessDenied", or the message with the
// traceback as faultString.
func writeXMLRPCStringFault(w http.ResponseWriter, e *Error) {
	short := e.Class[strings.LastIndex(e.Class, ".")+1:]
	var code, text string
	switch {
	case e.Class == "odoo.exceptions.AccessDenied":
		code, text = "AccessDenied", e.Message
	case e.Class == "odoo.exceptions.MissingError" || e.Class == "odoo.exceptions.AccessError":
		code = "warning -- " + short + "\n\n" + e.Message
	case e.FaultCode == 2:
		code = "warning -- UserError\n\n" + e.Message
	default:
		code, text = e.Message, e.traceback()
	}
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n")
	encodeValue(&b, map[string]any{"faultCode": code, "faultString": text})
	b.WriteString("</fault>\n</methodResponse>\n")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(b.Bytes())
}

type errNone struct{}

func (errNone) Error() string { return "cannot marshal None unless allow_none is enabled" }

// encodeValue writes v as an XML-RPC <value>; nil cannot be marshalled.
func encodeValue(b *bytes.Buffer, v any) error {
	b.WriteString("<value>")
	switch x := v.(type) {
	case nil:
		return errNone{}
	case bool:
		if x {
			b.WriteString("<boolean>1</boolean>")
		} else {
			b.WriteString("<boolean>0</boolean>")
		}
	case int:
		if x > math.MaxInt32 || x < math.MinInt32 {
			return fmt.Errorf("int exceeds XML-RPC limits")
		}
		fmt.Fprintf(b, "<int>%d</int>", x)
	case float64:
		b.WriteString("<double>" + strconv.FormatFloat(x, 'g', -1, 64) + "</double>")
	case string:
		b.WriteString("<string>")
		b.WriteString(xmlEscaper.Replace(x))
		b.WriteString("</string>")
	case []int:
		return encodeValue(trimValue(b), intsToAny(x))
	case []any:
		b.WriteString("<array><data>\n")
		for _, e := range x {
			if err := encodeValue(b, e); err != nil {
				return err
			}
			b.WriteString("\n")
		}
		b.WriteString("</data></array>")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<struct>\n")
		for _, k := range keys {
			b.WriteString("<member>\n<name>")
			b.WriteString(xmlEscaper.Replace(k))
			b.WriteString("</name>\n")
			if err := encodeValue(b, x[k]); err != nil {
				return err
			}
			b.WriteString("\n</member>\n")
		}
		b.WriteString("</struct>")
	default:
		return fmt.Errorf("cannot marshal %T objects", v)
	}
	b.WriteString("</value>")
	return nil
}

// trimValue removes the "<value>" just written, for re-dispatching.
func trimValue(b *bytes.Buffer) *bytes.Buffer {
	b.Truncate(b.Len() - len("<value>"))
	return b
}

// decodeMethodCall parses an XML-RPC <methodCall>.
func decodeMethodCall(r io.Reader) (string, []any, error) {
	d := xml.NewDecoder(r)
	var name string
	var params []any
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "methodName":
			var s string
			if err := d.DecodeElement(&s, &se); err != nil {
				return "", nil, err
			}
			name = strings.TrimSpace(s)
		case "value":
			v, err := decodeValue(d)
			if err != nil {
				return "", nil, err
			}
			params = append(params, v)
		}
	}
	if name == "" {
		return "", nil, fmt.Errorf("no methodName")
	}
	return name, params, nil
}

// decodeValue reads the content of a <value> element up to its end tag.
func decodeValue(d *xml.Decoder) (any, error) {
	var text strings.Builder
	var result any
	typed := false
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if t.Name.Local == "value" {
				if !typed {
					return text.String(), nil // untyped value is a string
				}
				return result, nil
			}
		case xml.StartElement:
			typed = true
			switch t.Name.Local {
			case "array":
				result, err = decodeArray(d)
			case "struct":
				result, err = decodeStruct(d)
			case "nil":
				result = nil
				err = d.Skip()
			default:
				var s string
				if err = d.DecodeElement(&s, &t); err == nil {
					result, err = scalar(t.Name.Local, s)
				}
			}
			if err != nil {
				return nil, err
			}
		}
	}
}

func scalar(kind, s string) (any, error) {
	switch kind {
	case "int", "i4", "i8":
		i, err := strconv.Atoi(strings.TrimSpace(s))
		return i, err
	case "boolean":
		return strings.TrimSpace(s) == "1", nil
	case "double":
		return strconv.ParseFloat(strings.TrimSpace(s), 64)
	case "string", "dateTime.iso8601":
		return s, nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		return string(b), err
	}
	return nil, fmt.Errorf("unknown XML-RPC type %q", kind)
}

func decodeArray(d *xml.Decoder) (any, error) {
	out := []any{}
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "value" {
				v, err := decodeValue(d)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
		case xml.EndElement:
			if t.Name.Local == "array" {
				return out, nil
			}
		}
	}
}

func decodeStruct(d *xml.Decoder) (any, error) {
	out := map[string]any{}
	var name string
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "name":
				if err := d.DecodeElement(&name, &t); err != nil {
					return nil, err
				}
			case "value":
				v, err := decodeValue(d)
				if err != nil {
					return nil, err
				}
				out[name] = v
			}
		case xml.EndElement:
			if t.Name.Local == "struct" {
				return out, nil
			}
		}
	}
}
