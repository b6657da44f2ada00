package config

import (
	"fmt"
	"regexp"
	"strings"
)

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:([^}]*))?\}`)

// Substitute replaces ${VAR} and ${VAR:default} in raw from lookup. A variable that is not set
// and has no default is an error naming the file, the YAML field it sits in and its line; all of
// them are reported together. "$${" escapes a literal "${".
func Substitute(file string, raw []byte, lookup func(string) (string, bool)) ([]byte, Errors) {
	var errs Errors
	lines := strings.Split(string(raw), "\n")
	paths := yamlPaths(lines)
	for i, line := range lines {
		if !strings.Contains(line, "${") {
			continue
		}
		const esc = "\x00ESC\x00"
		line = strings.ReplaceAll(line, "$${", esc)
		line = varRef.ReplaceAllStringFunc(line, func(ref string) string {
			m := varRef.FindStringSubmatch(ref)
			if v, ok := lookup(m[1]); ok {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			errs = append(errs, &FieldError{File: fmt.Sprintf("%s:%d", file, i+1), Field: paths[i],
				Msg: fmt.Sprintf("environment variable %s is not set (and no default is given: ${%s:default})", m[1], m[1])})
			return ""
		})
		lines[i] = strings.ReplaceAll(line, esc, "${")
	}
	return []byte(strings.Join(lines, "\n")), errs
}

// yamlPaths returns, for each line of a block-style YAML document, the dotted path of the key it
// belongs to ("erp.odoo.api_key"), best effort, for error messages.
func yamlPaths(lines []string) []string {
	var stack []frame
	out := make([]string, len(lines))
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			if len(stack) > 0 {
				out[i] = joinKeys(stack)
			}
			continue
		}
		indent := len(line) - len(trimmed)
		item := false
		if strings.HasPrefix(trimmed, "- ") {
			item = true
			trimmed = strings.TrimPrefix(trimmed, "- ")
			indent += 2
		}
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		if item && len(stack) > 0 {
			stack[len(stack)-1].key = strings.TrimSuffix(stack[len(stack)-1].key, "[]") + "[]"
		}
		if k, _, ok := strings.Cut(trimmed, ":"); ok && !strings.ContainsAny(k, " \"'{[") {
			stack = append(stack, frame{indent, k})
		}
		out[i] = joinKeys(stack)
	}
	return out
}

type frame struct {
	indent int
	key    string
}

func joinKeys(stack []frame) string {
	keys := make([]string, len(stack))
	for i, f := range stack {
		keys[i] = f.key
	}
	return strings.Join(keys, ".")
}
