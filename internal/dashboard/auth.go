package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/waybill-hub/waybill/internal/store"
)

// Role is what an operator may do. Each role includes the ones before it.
type Role string

const (
	RoleViewer   Role = "viewer"   // Sees every page; changes nothing.
	RoleOperator Role = "operator" // Also replays and discards dead letters and releases holds.
	RoleAdmin    Role = "admin"    // Also manages partners, keys and mappings.
)

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleViewer, RoleOperator, RoleAdmin:
		return r, nil
	}
	return "", fmt.Errorf("role must be viewer, operator or admin, not %q", s)
}

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

func (r Role) atLeast(min Role) bool { return r.rank() >= min.rank() && r.rank() > 0 }

// MinPasswordLength is the shortest password CreateOperator accepts.
const MinPasswordLength = 10

// CreateOperator stores an operator (or replaces one of the same name) with a bcrypt hash of
// password, and ends the operator's existing sessions.
func CreateOperator(ctx context.Context, db *store.DB, name string, role Role, password string) error {
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("operator name must be a non-empty word, not %q", name)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if len(password) < MinPasswordLength {
		return fmt.Errorf("password must be at least %d characters", MinPasswordLength)
	}
	if len(password) > 72 {
		return errors.New("password must be at most 72 bytes (bcrypt's limit)")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	if err := db.PutOperator(ctx, store.Operator{Name: name, Role: string(role), PasswordHash: string(hash)}); err != nil {
		return err
	}
	_, err = db.DeleteOperatorSessions(ctx, name)
	return err
}

// dummyHash is compared against when the operator does not exist, so that a login takes as long
// for an unknown name as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such operator, no such password"), bcrypt.MinCost+6)

// Authenticate checks name and password; it returns the operator, or an error that does not say
// which of the two was wrong.
func Authenticate(ctx context.Context, db *store.DB, name, password string) (*store.Operator, error) {
	op, err := db.Operator(ctx, name)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, errBadLogin
	}
	if bcrypt.CompareHashAndPassword([]byte(op.PasswordHash), []byte(password)) != nil || op.Disabled {
		return nil, errBadLogin
	}
	return op, nil
}

var errBadLogin = errors.New("unknown operator or wrong password")

// CookieName is the session cookie.
const CookieName = "waybill_session"

type session struct {
	store.Session
	id   string
	role Role
}

type ctxKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(ctxKey{}).(*session)
	return s
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// require wraps h: the request needs a live session of an operator with at least role min, and
// a POST needs the session's CSRF token in the form field "csrf".
func (s *Server) require(min Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.CSRF)) != 1 {
				http.Error(w, "the form has expired or did not come from this dashboard (CSRF token mismatch); reload the page", http.StatusForbidden)
				return
			}
		}
		if !sess.role.atLeast(min) {
			http.Error(w, fmt.Sprintf("your role (%s) may not do this; it needs %s", sess.role, min), http.StatusForbidden)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
	})
}

// session returns the request's live session, nil when there is none. The operator's current
// role is read on every request, so a role change or a disabled operator takes effect at once.
func (s *Server) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	ss, err := s.cfg.DB.Session(r.Context(), c.Value)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	op, err := s.cfg.DB.Operator(r.Context(), ss.Operator)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if op.Disabled {
		return nil, nil
	}
	return &session{Session: *ss, id: c.Value, role: Role(op.Role)}, nil
}

type loginData struct {
	Name string
	Next string
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "login", http.StatusOK, page{Title: "Sign in", Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

// safeNext keeps a post-login redirect inside the dashboard.
func safeNext(n string) string {
	if !strings.HasPrefix(n, Prefix) || strings.HasPrefix(n, "//") || strings.Contains(n, "\\") {
		return Prefix
	}
	return n
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	name, pw := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	op, err := Authenticate(r.Context(), s.cfg.DB, name, pw)
	if errors.Is(err, errBadLogin) {
		s.log.Warn("dashboard: failed sign-in", "operator", name, "remote", r.RemoteAddr)
		s.render(w, r, "login", http.StatusUnauthorized, page{Title: "Sign in", Error: err.Error(), Data: loginData{Name: name, Next: next}})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := randomToken()
	now := s.cfg.Now()
	if err := s.cfg.DB.CreateSession(r.Context(), id, store.Session{Operator: op.Name, CSRF: randomToken(), CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL)}); err != nil {
		s.fail(w, r, err)
		return
	}
	_, _ = s.cfg.DB.PurgeSessions(r.Context())
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: Prefix, HttpOnly: true, Secure: s.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.cfg.SessionTTL.Seconds())})
	s.log.Info("dashboard: signed in", "operator", op.Name, "role", op.Role)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r.Context())
	if err := s.cfg.DB.DeleteSession(r.Context(), sess.id); err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: Prefix, HttpOnly: true, Secure: s.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}
