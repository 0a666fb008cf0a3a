package infra

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

func TestTwilioSecretCreatedEmpty(t *testing.T) {
	s := mainStack(t)
	tw := s.one(t, "AWS::SecretsManager::Secret", "TwilioSecret")
	for _, k := range []string{"SecretString", "GenerateSecretString"} {
		if v, ok := tw.Props[k]; ok {
			t.Errorf("Twilio secret has %s %s; want an empty secret filled by put-secret-value", k, render(v))
		}
	}
	// A fixed name would make a retried first deploy fail with "already exists".
	if v, ok := tw.Props["Name"]; ok {
		t.Errorf("Twilio secret has a fixed name %s; want a generated one", render(v))
	}
	if tw.Raw["DeletionPolicy"] != "RetainExceptOnCreate" || tw.Raw["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("Twilio secret policies: got %v/%v, want RetainExceptOnCreate/Retain", tw.Raw["DeletionPolicy"], tw.Raw["UpdateReplacePolicy"])
	}
	ov := s.one(t, "AWS::SecretsManager::Secret", "OriginVerifySecret")
	if got, want := render(ov.Props["GenerateSecretString"]), `{"ExcludePunctuation":true,"PasswordLength":48}`; got != want {
		t.Errorf("origin-verify generator: got %s, want %s", got, want)
	}
}

func TestTemplateHoldsNoSecretValues(t *testing.T) {
	for name, s := range map[string]synthesis{"main": mainStack(t), "variant": variantStack(t)} {
		b, _ := json.Marshal(s.doc)
		text := string(b)
		if strings.Contains(text, `"SecretString"`) {
			t.Errorf("%s: template sets a SecretString", name)
		}
		// The only secret material reaching a resource is through a dynamic reference.
		if n := strings.Count(text, "{{resolve:secretsmanager:"); n != 1 {
			t.Errorf("%s: got %d secretsmanager dynamic references, want 1 (the origin-verify header)", name, n)
		}
	}
}

func TestOriginVerifyHeaderIsADynamicReference(t *testing.T) {
	s := mainStack(t)
	d := s.one(t, "AWS::CloudFront::Distribution", "Distribution")
	var found bool
	for _, o := range asList(get(d.Props, "DistributionConfig", "Origins")) {
		for _, h := range asList(get(o, "OriginCustomHeaders")) {
			if get(h, "HeaderName") != config.OriginVerifyHeader {
				continue
			}
			found = true
			if got, want := render(get(h, "HeaderValue")), "{{resolve:secretsmanager:<OriginVerifySecret>:SecretString:::}}"; got != want {
				t.Errorf("%s value: got %s, want %s", config.OriginVerifyHeader, got, want)
			}
			if got, want := render(get(o, "DomainName")), "<HttpApi>.execute-api.<AWS::Region>.<AWS::URLSuffix>"; got != want {
				t.Errorf("%s is sent to %s, want the HTTP API %s", config.OriginVerifyHeader, got, want)
			}
		}
	}
	if !found {
		t.Errorf("no origin carries %s", config.OriginVerifyHeader)
	}
}
