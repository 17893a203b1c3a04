"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

from crypto.kdf import TEST_COST, Argon2Cost


@pytest.fixture
def argon2_cost() -> Argon2Cost:
    """The one place tests get Argon2id parameters: libsodium's cheapest, to stay fast."""
    return TEST_COST
