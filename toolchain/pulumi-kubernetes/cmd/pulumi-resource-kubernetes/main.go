// Command pulumi-resource-kubernetes serves the Pulumi Kubernetes resource provider.
//
// It is built by scripts/toolchain/pulumi.sh, which first runs ../genembed to place
// schema-embed.json and terraform-mapping-embed.json next to this file (both are generated,
// gitignored and never committed). The version is set with
// -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=...".
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
