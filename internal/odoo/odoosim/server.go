package odoosim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. The zero value is usable: Version "19.0",
// Database "sim", an admin user (login "admin", password "admin", API key
// "sim-admin-key", uid 2), no latency, no faults.
type Options struct {
	// Version is "17.0", "18.0" or "19.0". It selects field names (for
	// example sale.order.line.product_uom_id on 19 against product_uom
	// before) and which protocols exist (JSON-2 only on 19).
	Version string
	// Database is the one database the server holds.
	Database string
	// Latency is the modelled server time per method; Odoo19Profile gives
	// the figures measured on a real Odoo 19. The zero value adds none.
	Latency LatencyProfile
	// Now is the clock for create_date, write_date, order dates and
	// sequences; default time.Now.
	Now func() time.Time
	// Sleep waits for modelled latency; default a timer that stops early
	// when ctx ends. Tests replace it to count modelled time instead of
	// waiting (see Stats.Modelled).
	Sleep func(ctx context.Context, d time.Duration)
	// SalesTax is the default sales tax rate in percent applied to products
	// ("15" when empty, like Odoo's generic chart of accounts; "0" for none).
	SalesTax string
	// Seed seeds the random choices of fault injection (error rates).
	Seed int64
}

// Admin credentials of every Server.
const (
	AdminLogin    = "admin"
	AdminPassword = "admin"
	AdminAPIKey   = "sim-admin-key"
	AdminUID      = 2
)

// Server is a simulated Odoo server. It is an http.Handler; all methods are
// safe for concurrent use.
type Server struct {
	opts    Options
	major   int
	sleep   func(ctx context.Context, d time.Duration)
	workers chan struct{}

	// mu guards everything below and the records. A call that writes holds it alone; calls that
	// only read (read, search_read, ...) share it, as Odoo's readers do not wait for each other.
	mu sync.RWMutex
	// lazyMu guards what a reading call may still build under the shared lock: the tables'
	// indexes (table.holding, table.referrers) and the reserved sums (reservedAt).
	lazyMu sync.Mutex
	models map[string]*modelDef
	tables map[string]*table
	seqs   map[string]int
	users  map[int]*user
	// reserved is the quantity reserved per product and location as of the last committed
	// call, in millionths (reserved.go); nil until first needed and after setup code changed
	// stock moves.
	reserved map[reservedKey]int64

	faults  *Faults
	stats   statsCounter
	hooks   *webhooks
	closeMu sync.Once
}

type user struct {
	id       int
	login    string
	password string
	apiKey   string
	groups   map[string]bool
}

// New returns a Server holding Odoo's base data: the company, the admin
// user, a warehouse WH with its stock location, countries, units of
// measure, the default pricelist, journals and the default sales tax.
func New(opts Options) *Server {
	if opts.Version == "" {
		opts.Version = "19.0"
	}
	if opts.Database == "" {
		opts.Database = "sim"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SalesTax == "" {
		opts.SalesTax = "15"
	}
	s := &Server{
		opts:   opts,
		major:  majorOf(opts.Version),
		sleep:  opts.Sleep,
		models: map[string]*modelDef{},
		tables: map[string]*table{},
		seqs:   map[string]int{},
		users:  map[int]*user{},
	}
	if s.sleep == nil {
		s.sleep = sleepCtx
	}
	if n := opts.Latency.Workers; n > 0 {
		s.workers = make(chan struct{}, n)
	}
	s.faults = newFaults(opts.Seed)
	s.hooks = newWebhooks()
	s.defineModels()
	s.seedBase()
	return s
}

func majorOf(version string) int {
	var major int
	fmt.Sscanf(version, "%d", &major)
	if major < 17 || major > 19 {
		major = 19
	}
	return major
}

// Version returns the simulated Odoo version, for example "19.0".
func (s *Server) Version() string { return s.opts.Version }

// Database returns the name of the simulated database.
func (s *Server) Database() string { return s.opts.Database }

// Faults returns the fault injector of this server.
func (s *Server) Faults() *Faults { return s.faults }

// Close stops the webhook emitter, waiting for notifications in flight.
// The Server keeps answering requests.
func (s *Server) Close() { s.closeMu.Do(s.hooks.close) }

// AddUser creates an internal user and returns its uid. groups are Odoo's
// group xml ids (GroupSaleSalesman, GroupStockUser, ...); with none the
// user is a plain internal user without sales, stock, invoicing or purchase
// rights, so sale.order gives AccessError. apiKey may be empty.
func (s *Server) AddUser(login, password, apiKey string, groups ...string) (uid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.sudo()
	pid, _ := e.create(s.models["res.partner"], map[string]any{"name": login, "email": login})
	uid, _ = e.create(s.models["res.users"], map[string]any{"login": login, "name": login, "partner_id": pid})
	u := &user{id: uid, login: login, password: password, apiKey: apiKey, groups: map[string]bool{GroupUser: true}}
	for _, g := range groups {
		u.groups[g] = true
	}
	s.users[uid] = u
	return uid
}

// Odoo group xml ids understood by AddUser.
const (
	GroupUser          = "base.group_user"
	GroupSystem        = "base.group_system"
	GroupSaleSalesman  = "sales_team.group_sale_salesman"
	GroupSaleManager   = "sales_team.group_sale_manager"
	GroupStockUser     = "stock.group_stock_user"
	GroupStockManager  = "stock.group_stock_manager"
	GroupInvoice       = "account.group_account_invoice"
	GroupAccountant    = "account.group_account_manager"
	GroupPurchaseUser  = "purchase.group_purchase_user"
	GroupPurchaseAdmin = "purchase.group_purchase_manager"
)

var groupLabels = map[string]string{
	GroupUser:          "Role / User",
	GroupSystem:        "Administration / Settings",
	GroupSaleSalesman:  "Sales/User: Own Documents Only",
	GroupSaleManager:   "Sales/Administrator",
	GroupStockUser:     "Inventory/User",
	GroupStockManager:  "Inventory/Administrator",
	GroupInvoice:       "Invoicing/Billing",
	GroupAccountant:    "Invoicing/Administrator",
	GroupPurchaseUser:  "Purchase/User",
	GroupPurchaseAdmin: "Purchase/Administrator",
}

func groupLabel(g string) string {
	if l, ok := groupLabels[g]; ok {
		return l
	}
	return g
}

func (s *Server) userHasAny(uid int, groups []string) bool {
	u := s.users[uid]
	if u == nil {
		return uid == 1 // the superuser bypasses access rights
	}
	for _, g := range groups {
		if u.groups[g] {
			return true
		}
	}
	return false
}

// sudo returns an environment acting as the superuser (uid 1), for setup.
func (s *Server) sudo() *env {
	return &env{s: s, uid: 1, ctx: map[string]any{}, now: s.opts.Now()}
}

// authenticate returns the uid for login and password (or API key), or 0.
func (s *Server) authenticate(db, login, password string) int {
	if db != s.opts.Database {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, u := range s.users {
		if u.login == login && password != "" && (u.password == password || u.apiKey == password) {
			return u.id
		}
	}
	return 0
}

// checkUser verifies execute_kw's uid and password or API key.
func (s *Server) checkUser(uid int, password string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.users[uid]
	return u != nil && password != "" && (u.password == password || u.apiKey == password)
}

// keyUser returns the uid owning an API key, or 0.
func (s *Server) keyUser(key string) int {
	if key == "" {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, u := range s.users {
		if u.apiKey == key {
			return u.id
		}
	}
	return 0
}

// ServeHTTP answers Odoo's external API endpoints:
//
//	POST /json/2/<model>/<method>   JSON-2 (19.0 only)
//	POST /jsonrpc                   JSON-RPC services common, object, db
//	POST /xmlrpc/2/<service>        XML-RPC with integer fault codes
//	POST /xmlrpc/<service>          legacy XML-RPC with string fault codes
//	GET|POST /web/version           server version, plain JSON (also /json/version on 19.0)
//	POST /web/webclient/version_info server version, JSON-RPC
//
// Injected faults (see Faults) apply before the request is dispatched.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	handled, dropAfter := s.faults.intercept(w, r, s.sleep)
	if handled {
		return
	}
	if dropAfter {
		// The request runs and commits; the client never hears of it.
		s.dispatch(discard{header: http.Header{}}, r)
		dropConnection(w)
		return
	}
	s.dispatch(w, r)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/json/2/") && s.major >= 19:
		s.serveJSON2(w, r)
	case path == "/jsonrpc":
		s.serveJSONRPC(w, r)
	case strings.HasPrefix(path, "/xmlrpc/2/"):
		s.serveXMLRPC(w, r, strings.TrimPrefix(path, "/xmlrpc/2/"), false)
	case strings.HasPrefix(path, "/xmlrpc/"):
		s.serveXMLRPC(w, r, strings.TrimPrefix(path, "/xmlrpc/"), true)
	case path == "/web/version" || path == "/json/version" && s.major >= 19:
		// A type='http' route: plain JSON, no JSON-RPC envelope.
		writeJSON(w, http.StatusOK, map[string]any{"version": s.opts.Version, "version_info": s.versionInfo()})
	case path == "/web/webclient/version_info":
		// A JSON-RPC route of the web client.
		var req struct {
			ID any `json:"id"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		info := s.commonVersion()
		if s.major >= 19 {
			delete(info, "protocol_version")
		}
		writeJSON(w, http.StatusOK, map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": info})
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n")
	}
}

func (s *Server) versionInfo() []any {
	return []any{s.major, 0, 0, "final", 0, ""}
}

func (s *Server) commonVersion() map[string]any {
	return map[string]any{
		"server_version":      s.opts.Version,
		"server_version_info": s.versionInfo(),
		"server_serie":        s.opts.Version,
		"protocol_version":    1,
	}
}

// lookup finds a public method; it returns the errors execute_kw raises.
func (s *Server) lookup(model, name string) (*modelDef, *method, error) {
	m := s.models[model]
	if m == nil {
		return nil, nil, userError("Object %s doesn't exist", model)
	}
	if strings.HasPrefix(name, "_") {
		return m, nil, accessError("Private methods (such as '%s.%s') cannot be called remotely.", model, name)
	}
	mt := m.methods[name]
	if mt == nil {
		return m, nil, attributeError("The method '%s.%s' does not exist", model, name)
	}
	return m, mt, nil
}

// invoke runs a bound method call with latency, faults, a rollback on
// error, statistics and webhooks.
func (s *Server) invoke(ctx context.Context, proto string, uid int, m *modelDef, mt *method, ids []int, args, callCtx map[string]any) (any, error) {
	n := len(ids)
	if mt.name == "create" {
		if l, ok := args["vals_list"].([]any); ok {
			n = len(l)
		} else {
			n = 1
		}
	}
	cost := s.opts.Latency.cost(m.name, mt.name, n)
	s.stats.add(proto, m.name+"."+mt.name, n, cost)
	release := s.enter(ctx, cost)
	defer release()
	if s.faults.takeSerialization() {
		return nil, serializationFailure()
	}
	if callCtx == nil {
		callCtx = map[string]any{}
	}
	if !mt.write {
		res, err := s.invokeRead(uid, m, mt, ids, args, callCtx)
		if err == nil {
			if d := s.faults.commitDelay(); d > 0 {
				s.sleep(ctx, d)
			}
		}
		return res, err
	}
	s.mu.Lock()
	e := &env{s: s, uid: uid, ctx: callCtx, now: s.opts.Now(), undo: &undoLog{}, touched: map[string][]int{}}
	if err := e.checkAccess(m, true); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if !mt.modelLevel && mt.name != "exists" {
		if err := e.mustExist(m, ids); err != nil {
			s.mu.Unlock()
			return nil, err
		}
	}
	res, err := mt.fn(&call{env: e, m: m, ids: ids, args: args})
	if err != nil {
		e.rollback()
		s.mu.Unlock()
		return nil, err
	}
	e.commitReserved()
	changes := e.webhookPayloads()
	s.mu.Unlock()
	if d := s.faults.commitDelay(); d > 0 {
		s.sleep(ctx, d)
	}
	s.hooks.emit(changes)
	return res, nil
}

// invokeRead runs a call that writes nothing under the shared lock, beside other readers.
func (s *Server) invokeRead(uid int, m *modelDef, mt *method, ids []int, args, callCtx map[string]any) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := &env{s: s, uid: uid, ctx: callCtx, now: s.opts.Now(), undo: &undoLog{}, readOnly: true}
	if !mt.modelLevel && mt.name != "exists" {
		if err := e.mustExist(m, ids); err != nil {
			return nil, err
		}
	}
	return mt.fn(&call{env: e, m: m, ids: ids, args: args})
}
