"""The staff session: a signed cookie holding only the account id, a nonce and an expiry.

The nonce is the account's current `session_nonce`; logout and a password change replace
it, so every copy of an old cookie stops working at once. The expiry is absolute.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import g, redirect, request, session, url_for

from ..models import StaffAccount
from .state import db

STAFF_SESSION_SECONDS = 4 * 3600
F = TypeVar("F", bound=Callable[..., Any])


def start_session(account: StaffAccount) -> None:
    """A fresh cookie for this account (whatever the old one held is dropped)."""
    session.clear()
    session["staff"] = account.id
    session["nonce"] = account.session_nonce
    session["exp"] = int(time.time()) + STAFF_SESSION_SECONDS


def current_account() -> StaffAccount | None:
    """The logged-in account, or None (an expired or revoked cookie is cleared)."""
    account_id, nonce, expires = session.get("staff"), session.get("nonce"), session.get("exp")
    if not isinstance(account_id, int) or not isinstance(expires, int):
        return None
    account = db().get(StaffAccount, account_id)
    if account is None or account.session_nonce != nonce or expires <= time.time():
        session.clear()
        return None
    return account


def login_required(view: F) -> F:
    """Send anyone not logged in to the login page; a one-time password must be changed."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        account = current_account()
        if account is None:
            return redirect(url_for("staff.login"), 303)
        if account.must_change_password and request.endpoint not in (
            "staff.password",
            "staff.logout",
        ):
            return redirect(url_for("staff.password"), 303)
        g.staff = account
        return view(*args, **kwargs)

    return cast(F, wrapped)
