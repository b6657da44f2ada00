package waybill

// PartyRole is the part a party plays in a document, with the X12 N101 entity code as its value.
type PartyRole string

const (
	RoleSoldTo   PartyRole = "BY" // Buying party; the customer account.
	RoleShipTo   PartyRole = "ST" // Where the goods go.
	RoleBillTo   PartyRole = "BT" // Who receives the invoice.
	RoleShipFrom PartyRole = "SF" // The warehouse the goods leave from.
	RoleRemitTo  PartyRole = "RI" // Where payment is sent.
	RoleVendor   PartyRole = "VN" // The distributor, as the buyer sees it.
)

// Party is a named participant in a document. Code is the partner's own identifier for it (an N104
// store number, a portal address id) under CodeQualifier; GLN is its GS1 Global Location Number when
// known. ERP is filled once the hub has resolved the party to an ERP record.
type Party struct {
	Role          PartyRole `json:"role"`
	Name          string    `json:"name,omitempty"`
	Code          string    `json:"code,omitempty"`
	CodeQualifier string    `json:"code_qualifier,omitempty"`
	GLN           string    `json:"gln,omitempty"`
	Address       Address   `json:"address,omitzero"`
	Contact       Contact   `json:"contact,omitzero"`
	ERP           ERPRef    `json:"erp,omitzero"`
}

// Address is a postal address. Country is an ISO 3166-1 alpha-2 code.
type Address struct {
	Lines      []string `json:"lines,omitempty"`
	City       string   `json:"city,omitempty"`
	Region     string   `json:"region,omitempty"`
	PostalCode string   `json:"postal_code,omitempty"`
	Country    string   `json:"country,omitempty"`
}

// Contact is a person or desk to reach about a document.
type Contact struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// ERPRef names a record in the ERP: its model (for Odoo, "sale.order"), numeric id, and the name
// people use for it ("S00042"). The zero value means "not resolved yet".
type ERPRef struct {
	Model string `json:"model,omitempty"`
	ID    int64  `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
}

// IsZero reports whether the reference is unresolved.
func (r ERPRef) IsZero() bool { return r.ID == 0 && r.Name == "" }

// String returns "model/id (name)" or the shortest form the fields allow.
func (r ERPRef) String() string {
	if r.IsZero() {
		return ""
	}
	s := r.Model
	if r.ID != 0 {
		if s != "" {
			s += "/"
		}
		s += itoa(r.ID)
	}
	if r.Name != "" {
		if s == "" {
			return r.Name
		}
		s += " (" + r.Name + ")"
	}
	return s
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
