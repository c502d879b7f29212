"""Shared test setup. The import path (the project root and policies/) comes from pytest's ``pythonpath`` setting in pyproject.toml."""
