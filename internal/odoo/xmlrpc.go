package odoo

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// XML-RPC encoding of the values the connector sends (nil, bool, integers, floats, strings,
// json.Number, time.Time, slices and string-keyed maps), and decoding of replies into the same
// generic values the JSON protocols produce: json.Number for numbers, string, bool, []any,
// map[string]any.

func encodeXMLRPCCall(method string, params []any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?><methodCall><methodName>`)
	xml.EscapeText(&b, []byte(method))
	b.WriteString(`</methodName><params>`)
	for _, p := range params {
		b.WriteString(`<param>`)
		if err := encodeXMLRPCValue(&b, reflect.ValueOf(p)); err != nil {
			return nil, err
		}
		b.WriteString(`</param>`)
	}
	b.WriteString(`</params></methodCall>`)
	return b.Bytes(), nil
}

func encodeXMLRPCValue(b *bytes.Buffer, v reflect.Value) error {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
		if v.IsNil() {
			v = reflect.Value{}
			break
		}
		v = v.Elem()
	}
	b.WriteString("<value>")
	defer b.WriteString("</value>")
	if !v.IsValid() {
		b.WriteString("<boolean>0</boolean>") // Odoo's False; None is refused without allow_none
		return nil
	}
	if v.Type() == reflect.TypeFor[json.Number]() {
		s := v.String()
		if _, err := strconv.ParseInt(s, 10, 32); err == nil {
			fmt.Fprintf(b, "<int>%s</int>", s)
		} else {
			fmt.Fprintf(b, "<double>%s</double>", s)
		}
		return nil
	}
	if v.Type() == reflect.TypeFor[time.Time]() {
		t := v.Interface().(time.Time)
		fmt.Fprintf(b, "<string>%s</string>", t.UTC().Format(odooDatetime))
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			b.WriteString("<boolean>1</boolean>")
		} else {
			b.WriteString("<boolean>0</boolean>")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := v.Int()
		if n > math.MaxInt32 || n < math.MinInt32 {
			fmt.Fprintf(b, "<double>%d</double>", n)
		} else {
			fmt.Fprintf(b, "<int>%d</int>", n)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		fmt.Fprintf(b, "<int>%d</int>", v.Uint())
	case reflect.Float32, reflect.Float64:
		b.WriteString("<double>" + strconv.FormatFloat(v.Float(), 'f', -1, 64) + "</double>")
	case reflect.String:
		b.WriteString("<string>")
		xml.EscapeText(b, []byte(v.String()))
		b.WriteString("</string>")
	case reflect.Slice, reflect.Array:
		b.WriteString("<array><data>")
		for i := 0; i < v.Len(); i++ {
			if err := encodeXMLRPCValue(b, v.Index(i)); err != nil {
				return err
			}
		}
		b.WriteString("</data></array>")
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("xml-rpc: cannot encode map with %s keys", v.Type().Key())
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		b.WriteString("<struct>")
		for _, k := range keys {
			b.WriteString("<member><name>")
			xml.EscapeText(b, []byte(k.String()))
			b.WriteString("</name>")
			if err := encodeXMLRPCValue(b, v.MapIndex(k)); err != nil {
				return err
			}
			b.WriteString("</member>")
		}
		b.WriteString("</struct>")
	default:
		return fmt.Errorf("xml-rpc: cannot encode %s", v.Type())
	}
	return nil
}

// xmlFault is an XML-RPC fault.
type xmlFault struct {
	Code   int
	String string
}

// isNoneFault reports the fault Odoo's marshaller raises for a method that returned None.
func isNoneFault(s string) bool {
	return strings.Contains(s, "cannot marshal None unless allow_none is enabled")
}

// classify maps Odoo's XML-RPC fault codes: 1 application error (a traceback), 2 warning
// (UserError and its subclasses: ValidationError, MissingError, RedirectWarning), 3 AccessDenied,
// 4 AccessError.
func (f *xmlFault) classify() *Error {
	msg := f.String
	switch f.Code {
	case 2:
		e := &Error{Kind: KindValidation, Name: "odoo.exceptions.UserError", Message: firstLine(msg)}
		if strings.HasPrefix(strings.TrimSpace(msg), "Record does not exist or has been deleted") {
			e.Kind, e.Name = KindMissing, "odoo.exceptions.MissingError"
		}
		return e
	case 3:
		return &Error{Kind: KindAuth, Name: "odoo.exceptions.AccessDenied", Message: firstLine(msg)}
	case 4:
		return &Error{Kind: KindAccess, Name: "odoo.exceptions.AccessError", Message: firstLine(msg)}
	}
	// An application error: the faultString is a traceback whose last line names the exception.
	last := firstLine(msg)
	name, text, _ := strings.Cut(last, ": ")
	if strings.ContainsAny(name, " ") {
		name, text = "", last
	}
	e := classifyHTTP(0, name, text, msg)
	if _, known := kindOfName(name, msg); !known && !isSerializationText(msg) {
		e.Kind = KindInternal
	}
	return e
}

// decodeXMLRPCResponse decodes a methodResponse into a value or a fault.
func decodeXMLRPCResponse(body []byte) (any, *xmlFault, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("xml-rpc reply: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "fault":
			v, err := decodeNextValue(d)
			if err != nil {
				return nil, nil, err
			}
			m, _ := v.(map[string]any)
			f := &xmlFault{}
			if c, ok := asInt(m["faultCode"]); ok {
				f.Code = int(c)
			}
			f.String, _ = m["faultString"].(string)
			return nil, f, nil
		case "param":
			v, err := decodeNextValue(d)
			return v, nil, err
		}
	}
}

// decodeNextValue reads up to the next <value> and decodes it.
func decodeNextValue(d *xml.Decoder) (any, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("xml-rpc reply: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "value" {
			return decodeValue(d)
		}
	}
}

// decodeValue decodes the content of a <value> whose start tag has been read, through its end tag.
func decodeValue(d *xml.Decoder) (any, error) {
	var text strings.Builder
	var result any
	typed := false
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("xml-rpc value: %w", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !typed {
				text.Write(t)
			}
		case xml.EndElement:
			if t.Name.Local == "value" {
				if !typed {
					return text.String(), nil // untyped value is a string
				}
				return result, nil
			}
		case xml.StartElement:
			typed = true
			result, err = decodeTyped(d, t.Name.Local)
			if err != nil {
				return nil, err
			}
		}
	}
}

func decodeTyped(d *xml.Decoder, kind string) (any, error) {
	switch kind {
	case "array":
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
	case "struct":
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
					s, err := elementText(d, "name")
					if err != nil {
						return nil, err
					}
					name = s
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
	case "nil":
		_, err := elementText(d, kind)
		return nil, err
	}
	s, err := elementText(d, kind)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "int", "i4", "i8", "i1", "i2", "biginteger":
		return json.Number(strings.TrimSpace(s)), nil
	case "double", "float", "bigdecimal":
		return json.Number(strings.TrimSpace(s)), nil
	case "boolean":
		return strings.TrimSpace(s) == "1", nil
	case "dateTime.iso8601":
		t, err := time.Parse("20060102T15:04:05", strings.TrimSpace(s))
		if err != nil {
			return s, nil
		}
		return t.Format(odooDatetime), nil
	}
	return s, nil // string, base64 (kept encoded)
}

func elementText(d *xml.Decoder, end string) (string, error) {
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.EndElement:
			if t.Name.Local == end {
				return b.String(), nil
			}
		}
	}
}
