package relay

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// The *Doc types are directory entries as the Directory API, the audit
// records and relayctl show them: the data file's field names, no tenant
// (the route or the file's tenant names it).

// TenantDoc is a tenant's settings.
type TenantDoc struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Numbers    []string `json:"numbers"`
	AckTimeout Seconds  `json:"ack_timeout"`
	Chain      []string `json:"chain"`
	Repeat     int      `json:"repeat"`
	Fallback   *Contact `json:"fallback,omitempty"`
	TwoWay     bool     `json:"two_way"`
	AutoReply  string   `json:"auto_reply,omitempty"`
	Schedule
	// ConversationWindow, HelpText and Prefix are the options of threads,
	// keywords and encoding (thread.go); empty means the default.
	ConversationWindow WindowSeconds `json:"conversation_window,omitempty"`
	HelpText           string        `json:"help_text,omitempty"`
	Prefix             *string       `json:"prefix,omitempty"`
	// DeleteTwilioMedia is delete_twilio_media; absent means true.
	DeleteTwilioMedia *bool `json:"delete_twilio_media,omitempty"`
}

// OperatorDoc is an operator; Active is true when omitted.
type OperatorDoc struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Phone  string `json:"phone"`
	Active *bool  `json:"active,omitempty"`
	Availability
}

// CustomerDoc is a customer.
type CustomerDoc struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// JobDoc is a job: its customer, state and assigned operator.
type JobDoc struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	State    string `json:"state"`
	Operator string `json:"operator"`
}

// Seconds is a duration written as "60s" and read from "60s", "2m" or a
// number of seconds, as in the data file.
type Seconds time.Duration

// MarshalJSON writes whole seconds as "60s" and anything else as Go does.
func (s Seconds) MarshalJSON() ([]byte, error) {
	d := time.Duration(s)
	if d%time.Second == 0 {
		return json.Marshal(strconv.FormatInt(int64(d/time.Second), 10) + "s")
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a duration string or a number of seconds.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	v := strings.TrimSpace(strings.Trim(string(b), `"`))
	if v == "" || v == "null" {
		*s = 0
		return nil
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		*s = Seconds(time.Duration(secs * float64(time.Second)))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("ack_timeout %q is not a duration like 60s", v)
	}
	*s = Seconds(d)
	return nil
}

// Doc returns the tenant's settings as the API shows them.
func (t Tenant) Doc() TenantDoc {
	return TenantDoc{ID: t.ID, Name: t.Name, Numbers: nonNil(t.Numbers), AckTimeout: Seconds(t.AckTimeout),
		Chain: nonNil(t.Chain), Repeat: t.Repeat, Fallback: t.Fallback, TwoWay: t.TwoWay, AutoReply: t.AutoReply,
		Schedule:           t.Schedule,
		ConversationWindow: WindowSeconds(t.ConversationWindow), HelpText: t.HelpText, Prefix: t.Prefix,
		DeleteTwilioMedia: t.DeleteMedia}
}

// Tenant returns the settings as a Tenant.
func (d TenantDoc) Tenant() Tenant {
	return Tenant{ID: d.ID, Name: d.Name, Numbers: d.Numbers, AckTimeout: time.Duration(d.AckTimeout),
		Chain: d.Chain, Repeat: d.Repeat, Fallback: d.Fallback, TwoWay: d.TwoWay, AutoReply: d.AutoReply,
		Schedule:           d.Schedule,
		ConversationWindow: time.Duration(d.ConversationWindow), HelpText: d.HelpText, Prefix: d.Prefix,
		DeleteMedia: d.DeleteTwilioMedia}
}

// Doc returns the operator as the API shows it.
func (o Operator) Doc() OperatorDoc {
	active := o.Active
	return OperatorDoc{ID: o.ID, Name: o.Name, Phone: o.Phone, Active: &active, Availability: o.Availability}
}

// Operator returns the operator of tenantID; a missing Active means true.
func (d OperatorDoc) Operator(tenantID string) Operator {
	return Operator{TenantID: tenantID, ID: d.ID, Name: d.Name, Phone: d.Phone, Active: d.Active == nil || *d.Active,
		Availability: d.Availability}
}

// Doc returns the customer as the API shows it.
func (c Customer) Doc() CustomerDoc { return CustomerDoc{ID: c.ID, Name: c.Name, Phone: c.Phone} }

// Customer returns the customer of tenantID.
func (d CustomerDoc) Customer(tenantID string) Customer {
	return Customer{TenantID: tenantID, ID: d.ID, Name: d.Name, Phone: d.Phone}
}

// Doc returns the job as the API shows it.
func (j Job) Doc() JobDoc {
	return JobDoc{ID: j.ID, Customer: j.CustomerID, State: j.State, Operator: j.OperatorID}
}

// Job returns the job of tenantID.
func (d JobDoc) Job(tenantID string) Job {
	return Job{TenantID: tenantID, ID: d.ID, CustomerID: d.Customer, State: d.State, OperatorID: d.Operator}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ETag returns the strong entity tag of a directory entry's document: a
// hash of its JSON, so equal documents have equal tags in every store.
func ETag(doc any) string {
	b, err := json.Marshal(doc)
	if err != nil {
		return `"-"`
	}
	// A change detector, not a secret: FNV-128a keeps the domain free of
	// the crypto packages (and their FIPS module).
	h := fnv.New128a()
	_, _ = h.Write(b)
	return `"` + hex.EncodeToString(h.Sum(nil)) + `"`
}
