"""Helpers every app may import: no models, no business rules, nothing that imports an app."""
