// Package datafile reads the relay's data file — tenants with their
// operators, customers and jobs, in YAML or JSON — validates all of it at
// once and loads it into a relay.Loader. The dev server reads it at start;
// the admin CLI loads it into DynamoDB.
package datafile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// File is the data file's top level.
type File struct {
	Tenants []Tenant `yaml:"tenants" json:"tenants"`
}

// Tenant is one tenant entry with its people.
type Tenant struct {
	ID         string         `yaml:"id" json:"id"`
	Name       string         `yaml:"name" json:"name"`
	Numbers    []string       `yaml:"numbers" json:"numbers"`
	AckTimeout Duration       `yaml:"ack_timeout" json:"ack_timeout"`
	Chain      []string       `yaml:"chain" json:"chain"`
	Repeat     int            `yaml:"repeat" json:"repeat"`
	Fallback   *relay.Contact `yaml:"fallback" json:"fallback"`
	TwoWay     bool           `yaml:"two_way" json:"two_way"`
	AutoReply  string         `yaml:"auto_reply" json:"auto_reply"`
	TrackLink  bool           `yaml:"track_link" json:"track_link"`
	// Schedule holds timezone, quiet_hours, after_hours_reply,
	// unavailable_reply, urgent_keywords and chain_strategy.
	relay.Schedule `yaml:",inline"`
	// ConversationWindow, HelpText and Prefix: threads, keywords and
	// encoding (docs/configuration.md). Prefix absent means the default 📦,
	// "" means none.
	ConversationWindow Duration `yaml:"conversation_window" json:"conversation_window"`
	HelpText           string   `yaml:"help_text" json:"help_text"`
	Prefix             *string  `yaml:"prefix" json:"prefix"`
	// DeleteTwilioMedia deletes Twilio's copy of stored photos; absent means true.
	DeleteTwilioMedia *bool      `yaml:"delete_twilio_media" json:"delete_twilio_media"`
	Operators         []Operator `yaml:"operators" json:"operators"`
	Customers         []Customer `yaml:"customers" json:"customers"`
	Jobs              []Job      `yaml:"jobs" json:"jobs"`
}

// Operator is an operator entry; Active defaults to true.
type Operator struct {
	ID     string `yaml:"id" json:"id"`
	Name   string `yaml:"name" json:"name"`
	Phone  string `yaml:"phone" json:"phone"`
	Active *bool  `yaml:"active" json:"active"`
	// Availability holds shifts, overrides, paused_until and on_call.
	relay.Availability `yaml:",inline"`
}

// Customer is a customer entry.
type Customer struct {
	ID    string `yaml:"id" json:"id"`
	Name  string `yaml:"name" json:"name"`
	Phone string `yaml:"phone" json:"phone"`
}

// Job is a job entry.
type Job struct {
	ID       string `yaml:"id" json:"id"`
	Customer string `yaml:"customer" json:"customer"`
	State    string `yaml:"state" json:"state"`
	Operator string `yaml:"operator" json:"operator"`
}

// Duration reads "60s", "2m" or a number of seconds.
type Duration time.Duration

// String writes whole seconds as "60s".
func (d Duration) String() string {
	v := time.Duration(d)
	if v%time.Second == 0 {
		return strconv.FormatInt(int64(v/time.Second), 10) + "s"
	}
	return v.String()
}

// MarshalYAML writes the duration as "60s".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the duration as "60s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalYAML reads a duration string or seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error { return d.parse(n.Value) }

// UnmarshalJSON reads a duration string or seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	return d.parse(strings.Trim(string(b), `"`))
}

func (d *Duration) parse(s string) error {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		*d = 0
		return nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		*d = Duration(time.Duration(secs * float64(time.Second)))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("ack_timeout %q is not a duration like 60s", s)
	}
	*d = Duration(v)
	return nil
}

// Read parses and validates a data file; JSON is chosen by a .json name or
// a leading '{', YAML otherwise. Unknown fields are errors, so typos show.
func Read(path string) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("read data file: %w", err)
	}
	f, err := Parse(b, strings.EqualFold(filepath.Ext(path), ".json"))
	if err != nil {
		return f, fmt.Errorf("data file %s: %w", path, err)
	}
	return f, nil
}

// Parse parses and validates data file contents.
func Parse(b []byte, isJSON bool) (File, error) {
	var f File
	trimmed := bytes.TrimSpace(b)
	if isJSON || bytes.HasPrefix(trimmed, []byte("{")) {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return f, relay.Wrap(relay.Invalid, err, "parse JSON")
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			return f, relay.Wrap(relay.Invalid, err, "parse YAML")
		}
	}
	if err := f.Validate(); err != nil {
		return f, err
	}
	return f, nil
}

// Validate reports every problem in the file at once.
func (f File) Validate() error {
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	if len(f.Tenants) == 0 {
		add("tenants: at least one tenant is required")
	}
	tenantIDs, numbers := map[string]bool{}, map[string]string{}
	for i, t := range f.Tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		if !validID(t.ID) {
			add("%s.id: %q must be 1-64 letters, digits, '_', '-' or '.'", p, t.ID)
		} else if tenantIDs[t.ID] {
			add("%s.id: %q is used twice", p, t.ID)
		}
		tenantIDs[t.ID] = true
		if strings.TrimSpace(t.Name) == "" {
			add("%s.name: required", p)
		}
		if len(t.Numbers) == 0 {
			add("%s.numbers: at least one published number is required", p)
		}
		for j, n := range t.Numbers {
			if prob := relay.PhoneProblem(n); prob != "" {
				add("%s.numbers[%d]: %q %s", p, j, n, prob)
			} else if other, ok := numbers[n]; ok {
				add("%s.numbers[%d]: %s is already published by tenant %q", p, j, n, other)
			}
			numbers[n] = t.ID
		}
		if d := time.Duration(t.AckTimeout); d != 0 && (d < time.Second || d > relay.MaxAckTimeout) {
			add("%s.ack_timeout: %s must be between 1s and %s", p, d, relay.MaxAckTimeout)
		}
		if t.Repeat < 0 || t.Repeat > 10 {
			add("%s.repeat: %d must be between 0 and 10", p, t.Repeat)
		}
		for _, f := range t.Schedule.Problems() {
			add("%s.%s: %s", p, f.Field, f.Message)
		}
		for j, o := range t.Operators {
			for _, f := range o.Availability.Problems() {
				add("%s.operators[%d].%s: %s", p, j, f.Field, f.Message)
			}
		}
		if t.Fallback != nil {
			if prob := relay.PhoneProblem(t.Fallback.Phone); prob != "" {
				add("%s.fallback.phone: %q %s", p, t.Fallback.Phone, prob)
			} else if numbers[t.Fallback.Phone] == t.ID {
				add("%s.fallback.phone: %s is one of the tenant's own numbers: the fallback would text itself", p, t.Fallback.Phone)
			}
		}
		// The options of threads, keywords and encoding, checked as the API checks them.
		if err := (relay.Tenant{ConversationWindow: time.Duration(t.ConversationWindow), HelpText: t.HelpText,
			Prefix: t.Prefix}).ValidateOptions(); err != nil {
			add("%s.%s", p, err)
		}
		ops := checkPeople(add, p+".operators", "operator", people(t.Operators, func(o Operator) [2]string { return [2]string{o.ID, o.Phone} }), numbers)
		opPhones := map[string]string{}
		for _, o := range t.Operators {
			opPhones[o.Phone] = o.ID
		}
		for j, c := range t.Customers {
			if id, ok := opPhones[c.Phone]; ok && c.Phone != "" {
				add("%s.customers[%d].phone: %s is also operator %q's phone: one phone cannot be both a customer's and an operator's", p, j, c.Phone, id)
			}
		}
		if len(t.Chain) == 0 && t.Fallback == nil {
			add("%s.chain: a chain or a fallback contact is required", p)
		}
		for j, id := range t.Chain {
			if !ops[id] {
				add("%s.chain[%d]: no operator %q in this tenant", p, j, id)
			}
		}
		custs := checkPeople(add, p+".customers", "customer", people(t.Customers, func(c Customer) [2]string { return [2]string{c.ID, c.Phone} }), nil)
		jobs := map[string]bool{}
		for j, jb := range t.Jobs {
			q := fmt.Sprintf("%s.jobs[%d]", p, j)
			if !validID(jb.ID) || jobs[jb.ID] {
				add("%s.id: %q is not a valid, unique id", q, jb.ID)
			}
			jobs[jb.ID] = true
			if !custs[jb.Customer] {
				add("%s.customer: no customer %q in this tenant", q, jb.Customer)
			}
			if jb.Operator != "" && !ops[jb.Operator] {
				add("%s.operator: no operator %q in this tenant", q, jb.Operator)
			}
		}
	}
	if len(bad) > 0 {
		return relay.Errorf(relay.Invalid, "%s", strings.Join(bad, "; "))
	}
	return nil
}

// people lists entries as (id, phone) pairs for checkPeople.
func people[T any](entries []T, idPhone func(T) [2]string) [][2]string {
	out := make([][2]string, len(entries))
	for i, e := range entries {
		out[i] = idPhone(e)
	}
	return out
}

// checkPeople reports bad or repeated ids and phones of one tenant's
// operators or customers, and phones that are published tenant numbers
// (numbers may be nil), and returns the ids seen.
func checkPeople(add func(string, ...any), path, kind string, entries [][2]string, numbers map[string]string) map[string]bool {
	ids, phones := map[string]bool{}, map[string]bool{}
	for j, e := range entries {
		id, phone := e[0], e[1]
		q := fmt.Sprintf("%s[%d]", path, j)
		if !validID(id) {
			add("%s.id: %q is not a valid id", q, id)
		} else if ids[id] {
			add("%s.id: %q is used twice", q, id)
		}
		ids[id] = true
		switch {
		case relay.PhoneProblem(phone) != "":
			add("%s.phone: %q %s", q, phone, relay.PhoneProblem(phone))
		case phones[phone]:
			add("%s.phone: %s belongs to another %s", q, phone, kind)
		case numbers[phone] != "":
			add("%s.phone: %s is a published tenant number", q, phone)
		}
		phones[phone] = true
	}
	return ids
}

func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Load writes every entry of f into l.
func Load(ctx context.Context, l relay.Loader, f File) error {
	for _, t := range f.Tenants {
		if err := l.PutTenant(ctx, relay.Tenant{ID: t.ID, Name: t.Name, Numbers: t.Numbers,
			AckTimeout: time.Duration(t.AckTimeout), Chain: t.Chain, Repeat: t.Repeat, Fallback: t.Fallback,
			TwoWay: t.TwoWay, AutoReply: t.AutoReply, TrackLink: t.TrackLink, Schedule: t.Schedule,
			ConversationWindow: time.Duration(t.ConversationWindow),
			HelpText:           t.HelpText, Prefix: t.Prefix, DeleteMedia: t.DeleteTwilioMedia}); err != nil {
			return fmt.Errorf("load tenant %s: %w", t.ID, err)
		}
		for _, o := range t.Operators {
			active := o.Active == nil || *o.Active
			if err := l.PutOperator(ctx, relay.Operator{TenantID: t.ID, ID: o.ID, Name: o.Name, Phone: o.Phone, Active: active,
				Availability: o.Availability}); err != nil {
				return fmt.Errorf("load operator %s/%s: %w", t.ID, o.ID, err)
			}
		}
		for _, c := range t.Customers {
			if err := l.PutCustomer(ctx, relay.Customer{TenantID: t.ID, ID: c.ID, Name: c.Name, Phone: c.Phone}); err != nil {
				return fmt.Errorf("load customer %s/%s: %w", t.ID, c.ID, err)
			}
		}
		for _, j := range t.Jobs {
			if err := l.PutJob(ctx, relay.Job{TenantID: t.ID, ID: j.ID, CustomerID: j.Customer, State: j.State, OperatorID: j.Operator}); err != nil {
				return fmt.Errorf("load job %s/%s: %w", t.ID, j.ID, err)
			}
		}
	}
	return nil
}
