"""Adapters to the outside world, implementing the core's ports (``kecs_secrets.ports``), and the dynamic
provider that reads values: boto3 metadata source, Kubernetes reader, task definition files, stack config."""
