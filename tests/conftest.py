"""Shared fixtures. Module-specific fixtures live beside their tests."""
