package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Secrets holds the Twilio credentials (created empty or imported) and the
// origin-verify value CloudFront sends to the API.
type Secrets struct {
	// Twilio is the config.TwilioSecret JSON; the stack never writes its value.
	Twilio awssecretsmanager.ISecret
	// OriginVerify is a random token: CloudFront adds it as config.OriginVerifyHeader, the API checks it.
	OriginVerify awssecretsmanager.Secret
	// twilioImported is set when Twilio was imported by name (its ARN lacks the random suffix).
	twilioImported bool
}

func newSecrets(scope constructs.Construct, s Settings) *Secrets {
	out := &Secrets{}
	if s.TwilioSecretName != "" {
		// Imported by name: the secret outlives stacks (ARN ends in a random 6-character suffix).
		out.Twilio = awssecretsmanager.Secret_FromSecretNameV2(scope, jsii.String("TwilioSecret"), jsii.String(s.TwilioSecretName))
		out.twilioImported = true
	} else {
		// No fixed name: CloudFormation generates one, so a retried first deploy or a second
		// copy of the stack never collides with a secret left behind ("already exists").
		tw := awssecretsmanager.NewSecret(scope, jsii.String("TwilioSecret"), &awssecretsmanager.SecretProps{
			Description: jsii.String(`Twilio credentials for dispatch-relay: {"account_sid":"AC...","auth_token":"...","auth_token_secondary":""}. Filled with aws secretsmanager put-secret-value (docs/deploy.md).`),
			// Credentials are not recreatable by CloudFormation: keep them if the stack goes or the
			// secret is replaced, but let a rolled-back create remove it.
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
		})
		// Created empty: no value (generated or literal) in the template; an operator puts it once.
		tw.Node().DefaultChild().(awssecretsmanager.CfnSecret).AddPropertyDeletionOverride(jsii.String("GenerateSecretString"))
		suppress(tw, nag("AwsSolutions-SMG4", "Twilio Auth Tokens are rotated in the Twilio console, not by a Lambda; the secret holds a secondary token (auth_token_secondary) so rotation has no downtime."))
		out.Twilio = tw
	}

	out.OriginVerify = awssecretsmanager.NewSecret(scope, jsii.String("OriginVerifySecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Shared value CloudFront sends as X-Origin-Verify so the API can refuse requests that bypass CloudFront."),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			// Header-safe: letters and digits only, 48 of them (~285 bits).
			ExcludePunctuation: jsii.Bool(true),
			PasswordLength:     jsii.Number(48),
		},
		// Regenerated on redeploy; nothing else depends on its value.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	suppress(out.OriginVerify, nag("AwsSolutions-SMG4", "CloudFront reads the value through a CloudFormation dynamic reference at deploy time, so a scheduled rotation would change it under the distribution and the API would refuse CloudFront until the next deploy. The value never leaves AWS (distribution origin config and the API function)."))
	return out
}

// TwilioPolicyArn is the resource for GetSecretValue on the Twilio secret: its ARN, or for an
// imported name the ARN pattern with Secrets Manager's 6-character suffix.
func (s *Secrets) TwilioPolicyArn() *string {
	if !s.twilioImported {
		return s.Twilio.SecretArn()
	}
	return awscdk.Fn_Join(jsii.String(""), &[]*string{s.Twilio.SecretArn(), jsii.String("-??????")})
}
