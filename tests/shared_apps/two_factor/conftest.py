from collections.abc import Callable

import pytest


@pytest.fixture
def require_2fa(db: None) -> Callable[[object], None]:
    """`require_2fa(clinic)`: the clinic requires two-factor sign-in for this test.

    The row change rolls back with the test, and each test has its own copy of the clinic
    object (tests/conftest.py), so nothing outlives the test.
    """

    def require(clinic: object) -> None:
        clinic.require_two_factor = True  # type: ignore[attr-defined]
        clinic.save(update_fields=["require_two_factor"])  # type: ignore[attr-defined]

    return require
