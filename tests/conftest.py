"""Shared fixtures. Module-specific fixtures live beside their tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from docflow.accounts import services


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2 with small parameters: the same algorithm and hash format as in
    production, without spending 64 MiB and three passes per test user."""

    original = services._hasher
    services._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    services._hasher = original
