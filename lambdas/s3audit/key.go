package s3audit

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Key layout: audit/<tenant>/<YYYY>/<MM>/<DD>/<unix nanos, 19 digits>-<id>.json.
// The date path makes a prefix list one day, and because the date and the
// zero-padded nanoseconds come from the same UTC instant, lexical key order
// is time order.
const (
	rootPrefix    = "audit/"
	unknownTenant = "_unknown"
)

// escape keeps ASCII letters, digits, '-' and '_' and percent-encodes every
// other byte, so a tenant or event id can never add a path segment ('/'),
// climb out of one ('..') or start with a dot. A leading '_' is encoded too,
// which keeps the name "_unknown" free for events without a tenant.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		safe := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if safe && !(i == 0 && c == '_') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// tenantPrefix is the key prefix of all of a tenant's events.
func tenantPrefix(tenantID string) string {
	if tenantID == "" {
		return rootPrefix + unknownTenant + "/"
	}
	return rootPrefix + escape(tenantID) + "/"
}

// nanos is t as unix nanoseconds clamped to what 19 digits hold.
func nanos(t time.Time) int64 {
	if t.Before(time.Unix(0, 0)) {
		return 0
	}
	return t.UnixNano()
}

// timeKey is the part of a key that orders it: the date path and the
// padded nanoseconds of t. Every key of an event at or after t sorts after
// timeKey(t); every key of an event before t sorts before it.
func timeKey(t time.Time) string {
	u := time.Unix(0, nanos(t)).UTC()
	return fmt.Sprintf("%04d/%02d/%02d/%019d", u.Year(), int(u.Month()), u.Day(), nanos(t))
}

// objectKey is the key of event e.
func objectKey(e relay.AuditEvent) string {
	return tenantPrefix(e.TenantID) + timeKey(e.Timestamp) + "-" + escape(e.ID) + ".json"
}

var keyTail = regexp.MustCompile(`^[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{19}-[A-Za-z0-9_%-]+\.json$`)

// encodeCursor makes the opaque cursor that continues after key.
func encodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// decodeCursor returns the key a cursor continues after. It must be an
// event key of the querying tenant, so a tampered cursor or one issued to
// another tenant is refused.
func decodeCursor(cursor, tenantID string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", relay.Wrap(relay.Invalid, err, "bad cursor")
	}
	key := string(b)
	prefix := tenantPrefix(tenantID)
	if !strings.HasPrefix(key, prefix) || !keyTail.MatchString(strings.TrimPrefix(key, prefix)) {
		return "", relay.Errorf(relay.Invalid, "bad cursor")
	}
	return key, nil
}
