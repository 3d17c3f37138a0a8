"""Adapters for every port. Imports nothing optional: import each adapter from its own module."""
