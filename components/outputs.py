"""Names of the stack outputs (imported by the program and by the Automation API tests)."""

__all__ = ["OUTPUT_COUNTS", "OUTPUT_MASTERS", "OUTPUT_REPLICAS", "OUTPUT_RESTARTED", "OUTPUT_WARNINGS"]

OUTPUT_MASTERS = "masters"  # {name: {kind, source, sourceName, version, fingerprint}} (fingerprint: HMAC under the stack's key)
OUTPUT_REPLICAS = "replicas"  # {namespace: [names]}
OUTPUT_COUNTS = "counts"  # {masters, replicas, namespaces}
OUTPUT_WARNINGS = "warnings"  # [text]
# restartOnChange only: the ECS services ("cluster/service") the last update of kecs:ServiceRestarts restarted.
OUTPUT_RESTARTED = "restartedServices"
