package infra

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/constructs-go/constructs/v10"
)

func TestOutputs(t *testing.T) {
	s := mainStack(t)
	outputs := s.doc["Outputs"].(map[string]any)
	for name, want := range map[string]string{
		OutputTwilioWebhookURL:  "https://relay.example.com/api/sms/incoming",
		OutputStatusCallbackURL: "https://relay.example.com/api/sms/delivery",
		OutputDashboardURL:      "https://relay.example.com/",
		OutputTrackURL:          "https://relay.example.com/track",
		OutputUserPoolID:        "<UserPool>",
		OutputUserPoolClientID:  "<UserPoolDashboardClient>",
		OutputTwilioSecretARN:   "<TwilioSecret>",
		OutputDistributionID:    "<Distribution>",
		OutputAlarmTopicARN:     "<AlarmTopic>",
		OutputDeadLetterURL:     "<TimerDeadLetterQueue>",
		OutputTableName:         "<Table>",
		OutputAuditBucketName:   "<AuditBucket>",
		OutputFallbackURL:       "https://relay.example.com/api/sms/fallback",
		OutputFallbackDLQURL:    "<FallbackDeadLetterQueue>",
		OutputAlarmSubscriber:   NoAlarmSubscriber,
	} {
		if got := render(get(outputs, name, "Value")); got != want {
			t.Errorf("output %s: got %s, want %s", name, got, want)
		}
	}
	v := variantStack(t).doc["Outputs"].(map[string]any)
	if _, ok := v[OutputUserPoolID]; ok {
		t.Errorf("external issuer: UserPoolId output present")
	}
	if got := render(get(v, OutputAlarmSubscriber, "Value")); got != "oncall@example.com" {
		t.Errorf("variant %s: got %s, want the alarmEmail", OutputAlarmSubscriber, got)
	}
	// No subscriber is a synth warning, not only an output.
	var warned bool
	for _, m := range *s.stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		for _, e := range *m.Node().Metadata() {
			warned = warned || (*e.Type == "aws:cdk:warning" && strings.Contains(fmt.Sprint(e.Data), "alarmEmail is empty"))
		}
	}
	if !warned {
		t.Error("no synth warning for an empty alarmEmail")
	}
}
