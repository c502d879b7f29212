"""Pulumi components of kecs-secrets and the pure layout model they render.

Importing this package does not import Pulumi: the policy pack and the pure tests import
`components.naming`, `components.model` and `components.layout` without it.
"""
