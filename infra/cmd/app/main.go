// Command app is the CDK app cdk.json runs: it synthesizes the one stack.
package main

import (
	"fmt"
	"os"

	"github.com/dispatchrelay/dispatch-relay/infra"
)

func main() {
	if err := infra.Run(os.Getwd); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}
