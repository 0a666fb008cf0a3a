package faketwilio

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"
)

// APIVersion is the version of Twilio's REST API the fake speaks.
const APIVersion = "2010-04-01"

// Message is a message the fake accepted through the Messages API.
type Message struct {
	Sid                 string    `json:"sid"`
	AccountSid          string    `json:"account_sid"`
	From                string    `json:"from"`
	To                  string    `json:"to"`
	Body                string    `json:"body"`
	MediaURLs           []string  `json:"media_urls,omitempty"`
	MessagingServiceSid string    `json:"messaging_service_sid,omitempty"`
	StatusCallback      string    `json:"status_callback,omitempty"`
	ValidityPeriod      int       `json:"validity_period,omitempty"`
	Status              string    `json:"status"`
	ErrorCode           int       `json:"error_code,omitempty"`
	NumSegments         int       `json:"num_segments"`
	DateCreated         time.Time `json:"date_created"`
	DateUpdated         time.Time `json:"date_updated"`
	// DateSent is zero until the message is sent, as Twilio's date_sent is null.
	DateSent time.Time `json:"date_sent,omitzero"`
	// AcceptedAt is when the fake stored the message, to the nanosecond
	// (DateCreated is truncated to the second, as Twilio's is), so load
	// tools can measure failover lateness.
	AcceptedAt time.Time `json:"accepted_at"`
}

// rfc2822 is the date layout of Twilio's JSON, always in GMT:
// "Mon, 16 Aug 2010 03:45:01 +0000".
const rfc2822 = time.RFC1123Z

// messageJSON is a Message resource as Twilio renders it.
type messageJSON struct {
	AccountSid          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	Sid                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

func messagesPath(accountSid string) string {
	return "/" + APIVersion + "/Accounts/" + accountSid + "/Messages"
}

func (m Message) wire() messageJSON {
	base := messagesPath(m.AccountSid) + "/" + m.Sid
	j := messageJSON{
		AccountSid:      m.AccountSid,
		APIVersion:      APIVersion,
		Body:            m.Body,
		DateCreated:     m.DateCreated.UTC().Format(rfc2822),
		DateUpdated:     m.DateUpdated.UTC().Format(rfc2822),
		Direction:       "outbound-api",
		NumMedia:        "0",
		NumSegments:     fmt.Sprint(m.NumSegments),
		PriceUnit:       "USD",
		Sid:             m.Sid,
		Status:          m.Status,
		SubresourceURIs: map[string]string{"media": base + "/Media.json", "feedback": base + "/Feedback.json"},
		To:              m.To,
		URI:             base + ".json",
	}
	if !m.DateSent.IsZero() {
		s := m.DateSent.UTC().Format(rfc2822)
		j.DateSent = &s
	}
	if m.ErrorCode != 0 {
		code := m.ErrorCode
		msg := fmt.Sprintf("error %d", code)
		j.ErrorCode, j.ErrorMessage = &code, &msg
	}
	if m.From != "" {
		from := m.From
		j.From = &from
	}
	if m.MessagingServiceSid != "" {
		mss := m.MessagingServiceSid
		j.MessagingServiceSid = &mss
	}
	return j
}

// errorJSON is Twilio's error body.
type errorJSON struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func twilioError(status, code int, msg string) errorJSON {
	return errorJSON{Code: code, Message: msg, MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), Status: status}
}

var (
	e164      = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	shortCode = regexp.MustCompile(`^[0-9]{5,6}$`)
	senderID  = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	hasLetter = regexp.MustCompile(`[A-Za-z]`)
)

// validFrom accepts what Twilio takes as a sender: an E.164 number, a short
// code or an alphanumeric sender id with at least one letter.
func validFrom(s string) bool {
	return e164.MatchString(s) || shortCode.MatchString(s) || (senderID.MatchString(s) && hasLetter.MatchString(s))
}

// maxBodyChars is Twilio's limit on a message body
// (https://www.twilio.com/docs/api/errors/21617).
const maxBodyChars = 1600

// gsm7 holds the characters of the GSM 03.38 basic set; gsm7Ext those of its
// extension table, which take two septets.
const (
	gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Ext = "\f^{}\\[~]|€"
)

// segments counts the SMS segments of body as carriers do: 160 GSM-7 septets
// or 70 UCS-2 units in one segment, 153 or 67 per segment when concatenated.
func segments(body string) int {
	septets, isGSM := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(gsm7Ext, r):
			septets += 2
		default:
			isGSM = false
		}
	}
	single, multi := 160, 153
	n := septets
	if !isGSM {
		single, multi = 70, 67
		n = len(utf16.Encode([]rune(body)))
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
