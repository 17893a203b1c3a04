"""Staff accounts: creation with a one-time password and a TOTP secret, removal, listing,
and the login check (Argon2id password + a TOTP code never accepted twice, throttled per
account with a doubling backoff; no IP address is ever used or kept)."""

from __future__ import annotations

import datetime
import functools
import re
import secrets
import time
from dataclasses import dataclass
from enum import Enum

import nacl.exceptions
import pyotp
from nacl import pwhash
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.kdf import Argon2Cost

from ..models import StaffAccount

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# No look-alikes (0/o, 1/l/i): the password is read from a terminal and typed.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # noqa: S105 - an alphabet
PASSWORD_GROUPS = 6  # 6 x 4 characters of 31: about 119 bits
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
FREE_FAILURES = 3  # then the account waits 2, 4, 8 ... seconds, up to the maximum
TOTP_INTERVAL = 30
TOTP_WINDOW = 1  # the code before and after the current one, for clock drift
ISSUER = "Sealdrop"


class AccountError(ValueError):
    """A staff account command cannot be done; the message says why."""


def one_time_password() -> str:
    """A strong random password in groups of four, e.g. "k7mq-..."."""
    groups = (
        "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(PASSWORD_GROUPS)
    )
    return "-".join(groups)


def hash_password(password: str, cost: Argon2Cost) -> str:
    """Argon2id in libsodium's string format (salt and cost travel with the hash)."""
    digest: bytes = pwhash.argon2id.str(
        password.encode("utf-8"), opslimit=cost.opslimit, memlimit=cost.memlimit
    )
    return digest.decode("ascii")


def password_matches(password_hash: str, password: str) -> bool:
    """Whether `password` is the one hashed (constant work either way)."""
    try:
        return bool(pwhash.verify(password_hash.encode("ascii"), password.encode("utf-8")))
    except (nacl.exceptions.InvalidkeyError, ValueError):
        return False


def check_new_password(password: str, old_hash: str) -> None:
    """A new password must be long enough and differ from the one-time password."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise AccountError(f"choose a password of at least {MIN_PASSWORD_CHARS} characters")
    if password_matches(old_hash, password):
        raise AccountError("choose a password different from the current one")


@dataclass(frozen=True)
class NewAccount:
    """What `sealdrop staff add` shows once: the one-time password and the TOTP URI."""

    name: str
    password: str
    totp_uri: str


def add_account(
    db: Session, name: str, cost: Argon2Cost, today: datetime.date, issuer: str = ISSUER
) -> NewAccount:
    """Create an account that must change its one-time password at first login."""
    if not NAME.fullmatch(name):
        raise AccountError(
            "a staff name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    if db.scalar(select(StaffAccount).where(StaffAccount.name == name)) is not None:
        raise AccountError(f"there is already a staff account {name!r}")
    password = one_time_password()
    secret = pyotp.random_base32()
    db.add(
        StaffAccount(
            name=name,
            password_hash=hash_password(password, cost),
            totp_secret=secret,
            must_change_password=True,
            session_nonce=secrets.token_hex(16),
            last_totp_step=0,
            failed_logins=0,
            locked_until=0,
            created_day=today,
        )
    )
    uri = pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(name=name, issuer_name=issuer)
    return NewAccount(name, password, uri)


def remove_account(db: Session, name: str) -> None:
    """Delete an account; its cookies die with it (the session check finds no account)."""
    account = db.scalar(select(StaffAccount).where(StaffAccount.name == name))
    if account is None:
        raise AccountError(f"there is no staff account {name!r}")
    db.delete(account)


def list_accounts(db: Session) -> list[StaffAccount]:
    """Every account, by name."""
    return list(db.scalars(select(StaffAccount).order_by(StaffAccount.name)))


class LoginOutcome(Enum):
    """Why a login attempt failed (or that it worked)."""

    OK = "ok"
    WRONG = "wrong"  # name, password or code: which one is not said
    REPLAYED = "replayed"  # the right code, but it was already used
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginResult:
    """A login attempt's outcome; `retry_after` seconds when throttled."""

    outcome: LoginOutcome
    account: StaffAccount | None = None
    retry_after: int = 0


@functools.lru_cache(maxsize=4)
def _dummy_hash(cost: Argon2Cost) -> str:
    """Checked when the name is unknown, so the answer takes as long as for a real one."""
    return hash_password(secrets.token_hex(16), cost)


def _totp_step(secret: str, code: str, now: float, last_step: int) -> tuple[bool, int]:
    """(matched, step) for a code within the drift window; step > last_step to be new."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return False, 0
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    current = int(now) // TOTP_INTERVAL
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if secrets.compare_digest(totp.at(step * TOTP_INTERVAL), code):
            return True, step
    return False, 0


def _backoff(failures: int, max_seconds: int) -> int:
    if failures <= FREE_FAILURES:
        return 0
    return int(min(max_seconds, 2 ** min(failures - FREE_FAILURES, 30)))


def check_login(
    db: Session,
    name: str,
    password: str,
    code: str,
    cost: Argon2Cost,
    max_backoff_seconds: int,
    now: float | None = None,
) -> LoginResult:
    """Check a login and record its effect on the account (the caller commits)."""
    now = time.time() if now is None else now
    account = db.scalar(select(StaffAccount).where(StaffAccount.name == name[:64]))
    if account is None:
        password_matches(_dummy_hash(cost), password)
        return LoginResult(LoginOutcome.WRONG)
    if account.locked_until > now:
        return LoginResult(LoginOutcome.THROTTLED, retry_after=int(account.locked_until - now) + 1)
    password_ok = password_matches(account.password_hash, password)
    code_ok, step = _totp_step(account.totp_secret, code, now, account.last_totp_step)
    if password_ok and code_ok and step > account.last_totp_step:
        account.last_totp_step = step
        account.failed_logins = 0
        account.locked_until = 0
        return LoginResult(LoginOutcome.OK, account)
    account.failed_logins += 1
    wait = _backoff(account.failed_logins, max_backoff_seconds)
    account.locked_until = int(now) + wait if wait else 0
    if password_ok and code_ok:
        return LoginResult(LoginOutcome.REPLAYED)
    return LoginResult(LoginOutcome.WRONG)


def change_password(account: StaffAccount, new_password: str, cost: Argon2Cost) -> None:
    """Set a new password; every other session of this account ends (the caller commits)."""
    check_new_password(new_password, account.password_hash)
    account.password_hash = hash_password(new_password, cost)
    account.must_change_password = False
    account.session_nonce = secrets.token_hex(16)


def end_sessions(account: StaffAccount) -> None:
    """Log out everywhere: cookies carry the old nonce (the caller commits)."""
    account.session_nonce = secrets.token_hex(16)
