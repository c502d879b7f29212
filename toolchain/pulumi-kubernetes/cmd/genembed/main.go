// Command genembed writes the two files that ../pulumi-resource-kubernetes embeds, from the
// schema.json and terraform-mapping.json shipped in the provider module's zip:
//
//	genembed -src <provider module dir>/cmd/pulumi-resource-kubernetes -out <dir> -version 4.34.2
//
// The schema gets its "version" field set (the provider reports it in GetSchema); both files are
// compacted. Only encoding/json is used, so this runs before the provider's dependencies compile.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	src := flag.String("src", "", "directory holding schema.json and terraform-mapping.json")
	out := flag.String("out", "", "directory to write schema-embed.json and terraform-mapping-embed.json to")
	version := flag.String("version", "", "version to record in the schema")
	flag.Parse()
	if *src == "" || *out == "" || *version == "" {
		fail(fmt.Errorf("-src, -out and -version are required"))
	}

	raw, err := os.ReadFile(filepath.Join(*src, "schema.json"))
	if err != nil {
		fail(err)
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		fail(fmt.Errorf("schema.json: %w", err))
	}
	if _, ok := spec["resources"]; !ok {
		fail(fmt.Errorf("schema.json has no resources: not a Pulumi package schema"))
	}
	v, _ := json.Marshal(*version)
	spec["version"] = v
	schema, err := json.Marshal(spec)
	if err != nil {
		fail(err)
	}
	write(filepath.Join(*out, "schema-embed.json"), schema)

	raw, err = os.ReadFile(filepath.Join(*src, "terraform-mapping.json"))
	if err != nil {
		fail(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		fail(fmt.Errorf("terraform-mapping.json: %w", err))
	}
	write(filepath.Join(*out, "terraform-mapping-embed.json"), compact.Bytes())
}

func write(path string, data []byte) {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "genembed:", err)
	os.Exit(1)
}
