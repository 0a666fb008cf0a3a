package relay

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldError is one bad field of an entry, named as in the data file.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// FieldErrors lists every bad field of an entry at once, so a client fixes
// them in one round trip.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, f := range fe {
		parts[i] = f.Field + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}

func (fe *FieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns nil without problems, or an Invalid error naming the entry
// kind and every field; errors.As finds the FieldErrors in it.
func (fe FieldErrors) err(kind string) error {
	if len(fe) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Msg: "invalid " + kind + ": " + fe.Error(), Err: fe}
}

var (
	idRe    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	stateRe = regexp.MustCompile(`^[A-Za-z0-9_.\- ]{1,64}$`)
)

// ValidState reports whether s can be a job state: 1-64 letters, digits,
// spaces, '_', '-' or '.', not only spaces.
func ValidState(s string) bool { return stateRe.MatchString(s) && strings.TrimSpace(s) != "" }

// ValidID reports whether s is a directory id: 1-64 letters, digits, '_', '-' or '.'.
func ValidID(s string) bool { return idRe.MatchString(s) }

const (
	idRule   = "must be 1-64 letters, digits, '_', '-' or '.'"
	maxName  = 200
	maxReply = 1000
	// MaxRepeat bounds a tenant's extra passes over its chain.
	MaxRepeat = 10
)

func checkID(fe *FieldErrors, field, id string) {
	if !ValidID(id) {
		fe.add(field, "%q %s", id, idRule)
	}
}

func checkName(fe *FieldErrors, field, name string) {
	switch {
	case strings.TrimSpace(name) == "":
		fe.add(field, "required")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxName:
		fe.add(field, "must be text of at most %d characters", maxName)
	}
}

func checkPhone(fe *FieldErrors, field, phone string) {
	if p := PhoneProblem(phone); p != "" {
		fe.add(field, "%q %s", phone, p)
	}
}

const chainOrFallback = "a chain or a fallback contact is required"

// Validate reports every bad field of the tenant's settings; references to
// operators are checked by the Registry, which can see them.
func (t Tenant) Validate() error {
	var fe FieldErrors
	checkID(&fe, "id", t.ID)
	checkName(&fe, "name", t.Name)
	if len(t.Numbers) == 0 {
		fe.add("numbers", "at least one published number is required")
	}
	seen := map[string]bool{}
	for i, n := range t.Numbers {
		f := fmt.Sprintf("numbers[%d]", i)
		switch {
		case PhoneProblem(n) != "":
			checkPhone(&fe, f, n)
		case seen[n]:
			fe.add(f, "%s is listed twice", n)
		}
		seen[n] = true
	}
	if d := t.AckTimeout; d != 0 && (d < time.Second || d > MaxAckTimeout) {
		fe.add("ack_timeout", "%s must be between 1s and %s", d, MaxAckTimeout)
	}
	if t.Repeat < 0 || t.Repeat > MaxRepeat {
		fe.add("repeat", "%d must be between 0 and %d", t.Repeat, MaxRepeat)
	}
	ids := map[string]bool{}
	for i, id := range t.Chain {
		f := fmt.Sprintf("chain[%d]", i)
		switch {
		case !ValidID(id):
			checkID(&fe, f, id)
		case ids[id]:
			fe.add(f, "operator %q is in the chain twice", id)
		}
		ids[id] = true
	}
	if t.Fallback != nil {
		checkPhone(&fe, "fallback.phone", t.Fallback.Phone)
		if t.HasNumber(t.Fallback.Phone) {
			fe.add("fallback.phone", "%s is one of the tenant's own numbers: the fallback would text itself", t.Fallback.Phone)
		}
		if utf8.RuneCountInString(t.Fallback.Name) > maxName {
			fe.add("fallback.name", "must be at most %d characters", maxName)
		}
	}
	if len(t.Chain) == 0 && t.Fallback == nil {
		fe.add("chain", chainOrFallback)
	}
	if !utf8.ValidString(t.AutoReply) || utf8.RuneCountInString(t.AutoReply) > maxReply {
		fe.add("auto_reply", "must be text of at most %d characters", maxReply)
	}
	checkSchedule(&fe, t.Schedule)
	t.checkConversation(&fe) // phones.go
	return fe.err("tenant")
}

// Validate reports every bad field of the operator.
func (o Operator) Validate() error {
	var fe FieldErrors
	checkID(&fe, "id", o.ID)
	checkName(&fe, "name", o.Name)
	checkPhone(&fe, "phone", o.Phone)
	checkAvailability(&fe, o.Availability)
	return fe.err("operator")
}

// Validate reports every bad field of the customer.
func (c Customer) Validate() error {
	var fe FieldErrors
	checkID(&fe, "id", c.ID)
	checkName(&fe, "name", c.Name)
	checkPhone(&fe, "phone", c.Phone)
	return fe.err("customer")
}

// Validate reports every bad field of the job; whether its customer and
// operator exist is checked by the Registry.
func (j Job) Validate() error {
	var fe FieldErrors
	checkID(&fe, "id", j.ID)
	if j.CustomerID == "" {
		fe.add("customer", "required")
	} else {
		checkID(&fe, "customer", j.CustomerID)
	}
	if j.State != "" && !ValidState(j.State) {
		fe.add("state", "%q must be 1-64 letters, digits, spaces, '_', '-' or '.' (e.g. en_route, completed)", j.State)
	}
	if j.OperatorID != "" {
		checkID(&fe, "operator", j.OperatorID)
	}
	return fe.err("job")
}
