package odoo

import (
	"context"
	"fmt"
)

// SearchRead calls search_read with a domain and named options (fields, limit, offset, order,
// context) and returns the records.
func (c *Client) SearchRead(ctx context.Context, model string, domain []any, fields []string, opts map[string]any) ([]map[string]any, error) {
	rs, err := c.searchRead(ctx, model, domain, fields, opts)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out, nil
}

func (c *Client) searchRead(ctx context.Context, model string, domain []any, fields []string, opts map[string]any) ([]record, error) {
	kw := map[string]any{"fields": strs(fields)}
	for k, v := range opts {
		kw[k] = v
	}
	if domain == nil {
		domain = []any{}
	}
	v, err := c.Call(ctx, model, "search_read", []any{domain}, kw)
	if err != nil {
		return nil, err
	}
	return asRecords(v), nil
}

func (c *Client) read(ctx context.Context, model string, ids []int64, fields []string, kw map[string]any) ([]record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	v, err := c.Call(ctx, model, "read", []any{idsAny(ids), strs(fields)}, kw)
	if err != nil {
		return nil, err
	}
	return asRecords(v), nil
}

// Create creates records from vals_list and returns their ids, in order.
func (c *Client) Create(ctx context.Context, model string, vals []map[string]any, context map[string]any) ([]int64, error) {
	l := make([]any, len(vals))
	for i, v := range vals {
		l[i] = v
	}
	var kw map[string]any
	if context != nil {
		kw = map[string]any{"context": context}
	}
	v, err := c.Call(ctx, model, "create", []any{l}, kw)
	if err != nil {
		return nil, err
	}
	ids := asIDs(v)
	if len(ids) != len(vals) {
		if id, ok := asInt(v); ok && len(vals) == 1 {
			return []int64{id}, nil
		}
		return nil, &Error{Kind: KindInternal, Model: model, Method: "create", Message: fmt.Sprintf("create returned %d ids for %d records", len(ids), len(vals))}
	}
	return ids, nil
}

// Write writes vals on the records ids.
func (c *Client) Write(ctx context.Context, model string, ids []int64, vals map[string]any) error {
	_, err := c.Call(ctx, model, "write", []any{idsAny(ids), vals}, nil)
	return err
}

// Read reads fields of the records ids.
func (c *Client) Read(ctx context.Context, model string, ids []int64, fields []string) ([]map[string]any, error) {
	rs, err := c.read(ctx, model, ids, fields, nil)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out, nil
}

// Method calls a public record method (action_confirm, button_validate, ...) on ids with an
// optional context and returns its result.
func (c *Client) Method(ctx context.Context, model, method string, ids []int64, context map[string]any) (any, error) {
	var kw map[string]any
	if context != nil {
		kw = map[string]any{"context": context}
	}
	return c.Call(ctx, model, method, []any{idsAny(ids)}, kw)
}

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
