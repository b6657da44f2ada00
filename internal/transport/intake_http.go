package transport

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/waybill-hub/waybill"
)

// buildHTTP reads the token hashes of partners with an HTTP intake.
func (c *Channels) buildHTTP() []error {
	var errs []error
	for _, pt := range c.sorted() {
		h := pt.Transport.HTTP
		if h == nil {
			continue
		}
		sum, err := hex.DecodeString(strings.TrimSpace(h.TokenHash))
		if err != nil || len(sum) != sha256.Size {
			errs = append(errs, fmt.Errorf("partner %s: transport.http.token_hash: must be the SHA-256 of the token in hex (64 characters; `waybill intake token` makes one)", pt.ID))
			continue
		}
		c.tokens[pt.ID] = sum
	}
	return errs
}

// NewToken returns a random bearer token for a partner's HTTP intake and the SHA-256 (hex) the
// profile stores.
func NewToken() (token, hash string, err error) {
	token, err = randomToken()
	if err != nil {
		return "", "", err
	}
	return token, TokenHash(token), nil
}

// TokenHash is the hex SHA-256 of a token, as partner profiles store it.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// intakeReply is the JSON body of the HTTP intake's answers.
type intakeReply struct {
	waybill.Receipt
	Error  string `json:"error,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// serveIntake is POST /intake/{partner}: a partner posts one document with its bearer token. The
// answer is 202 with the receipt once the document is durable, 200 with duplicate=true for a
// document seen before, 401 without a valid token (also for an unknown partner), 413 when too
// large, 400 for a request the hub refuses, 503 when the hub cannot store it now (retry).
//
// Optional headers: Idempotency-Key (the transport id: a retry with the same key is a duplicate),
// X-Waybill-Doc-Type (the document type; by default csv for a CSV partner, else detected), and a
// file name in Content-Disposition.
func (c *Channels) serveIntake(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("partner")
	if !c.authorized(id, r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="waybill intake"`)
		replyJSON(w, http.StatusUnauthorized, intakeReply{Error: "a valid bearer token for this partner is required", Reason: "unauthorized"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.cfg.HTTP.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			replyJSON(w, http.StatusRequestEntityTooLarge, intakeReply{Error: fmt.Sprintf("the document exceeds %d bytes", tooBig.Limit), Reason: "too_large"})
			return
		}
		replyJSON(w, http.StatusBadRequest, intakeReply{Error: "reading the request body: " + err.Error(), Reason: "bad_request"})
		return
	}
	if len(body) == 0 {
		replyJSON(w, http.StatusBadRequest, intakeReply{Error: "the request body is empty", Reason: "empty"})
		return
	}
	docType := r.Header.Get("X-Waybill-Doc-Type")
	if docType == "" {
		docType = c.docType(c.partners[id])
	}
	filename := ""
	if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil {
		filename = params["filename"]
	}
	meta := map[string]string{"http_remote": r.RemoteAddr}
	if ua := r.UserAgent(); ua != "" {
		meta["http_user_agent"] = ua
	}
	rc, err := c.hub.Receive(r.Context(), waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: id, DocType: docType,
		TransportID: r.Header.Get("Idempotency-Key"), Filename: filename, ContentType: r.Header.Get("Content-Type"), Meta: meta,
		Payload: body, ReceivedAt: c.cfg.Now()})
	switch {
	case err == nil && rc.Duplicate:
		replyJSON(w, http.StatusOK, intakeReply{Receipt: rc})
	case err == nil:
		replyJSON(w, http.StatusAccepted, intakeReply{Receipt: rc})
	case waybill.Code(err) == waybill.EINVALID:
		replyJSON(w, http.StatusBadRequest, intakeReply{Error: waybill.Message(err), Reason: waybill.Reason(err)})
	default:
		c.log.Warn("http intake: storing failed", "partner", id, "error", err)
		w.Header().Set("Retry-After", "30")
		replyJSON(w, http.StatusServiceUnavailable, intakeReply{Error: "the hub cannot store the document now; retry later", Reason: "unavailable"})
	}
}

// authorized checks the bearer token against the partner's token hash in constant time. An
// unknown partner costs the same comparison as a known one.
func (c *Channels) authorized(partner string, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(auth, "bearer ")
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	want, known := c.tokens[partner]
	if !known {
		want = make([]byte, sha256.Size)
	}
	return subtle.ConstantTimeCompare(sum[:], want) == 1 && ok && known && token != ""
}

func replyJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
