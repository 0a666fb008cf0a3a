package infra

import "testing"

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
	} {
		if got := render(get(outputs, name, "Value")); got != want {
			t.Errorf("output %s: got %s, want %s", name, got, want)
		}
	}
	v := variantStack(t).doc["Outputs"].(map[string]any)
	if _, ok := v[OutputUserPoolID]; ok {
		t.Errorf("external issuer: UserPoolId output present")
	}
}
