"""Resolve a scanned code: ``resolve(code) -> Scan`` (see resolver.resolve)."""

from .resolver import resolve
from .scan import Kind, Scan

__all__ = ["Kind", "Scan", "resolve"]
