"""Pluggable backends, each a small interface with an in-process default."""
