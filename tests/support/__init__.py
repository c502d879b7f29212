"""Helpers shared by the test suites: real components (LocalStack, the control plane) and their clients."""
