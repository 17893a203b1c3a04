"""Staff accounts: creation with a one-time password and a TOTP secret, removal, listing,
and the login check (Argon2id password + a TOTP code never accepted twice, throttled per
name tried with a doubling backoff; no IP address is ever used or kept)."""

from __future__ import annotations

import datetime
import functools
import logging
import re
import secrets
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

import nacl.exceptions
import pyotp
from nacl import pwhash
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crypto.kdf import Argon2Cost

from ..models import StaffAccount, StaffLoginThrottle
from ..staff_key import SEALED_PREFIX, StaffKey, StaffKeyError

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
log = logging.getLogger("intake.staff")
PURGE_AFTER_DAYS = 2  # throttle rows of names not tried since, and not waiting, go


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
    db: Session,
    key: StaffKey,
    name: str,
    cost: Argon2Cost,
    today: datetime.date,
    issuer: str = ISSUER,
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
            totp_secret=key.seal(name, secret),
            must_change_password=True,
            session_nonce=secrets.token_hex(16),
            last_totp_step=0,
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


_DUMMY_SECRET = pyotp.random_base32()  # its codes are computed, and never compared true


def _totp_step(secret: str, code: str, now: float) -> tuple[bool, int]:
    """(matched, step) for a code within the drift window."""
    code = code.strip().replace(" ", "")
    well_formed = code.isascii() and code.isdigit() and len(code) == 6
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    current = int(now) // TOTP_INTERVAL
    matched = 0
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if secrets.compare_digest(totp.at(step * TOTP_INTERVAL), code) and well_formed:
            matched = step
    return matched != 0, matched


def _backoff(failures: int, max_seconds: int) -> int:
    if failures <= FREE_FAILURES:
        return 0
    return int(min(max_seconds, 2 ** min(failures - FREE_FAILURES, 30)))


def _insert_ignoring_duplicates(db: Session, values: dict[str, object]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, in the dialect at hand."""
    if db.get_bind().dialect.name == "postgresql":
        statement: Any = postgresql_insert(StaffLoginThrottle).values(**values)
    else:
        statement = sqlite_insert(StaffLoginThrottle).values(**values)
    db.execute(statement.on_conflict_do_nothing(index_elements=["name_tag"]))


def _reserve_attempt(
    db: Session, tag: str, now: float, today: datetime.date, max_backoff_seconds: int
) -> int:
    """Count this attempt as a failure before checking it, or return the seconds to wait.

    Counting first, in one conditional UPDATE, is what makes the throttle hold under
    parallel requests: each attempt gets its own number, and past the free failures it
    sets the wait before anyone can check a password. Success sets the count back to 0.
    Committed at once: no lock is held while Argon2id runs.
    """
    seconds = int(now)
    db.execute(
        delete(StaffLoginThrottle).where(
            StaffLoginThrottle.day < today - datetime.timedelta(days=PURGE_AFTER_DAYS),
            StaffLoginThrottle.locked_until <= seconds,
        )
    )
    _insert_ignoring_duplicates(
        db, {"name_tag": tag, "failures": 0, "locked_until": 0, "day": today}
    )
    counted = db.execute(
        update(StaffLoginThrottle)
        .where(StaffLoginThrottle.name_tag == tag, StaffLoginThrottle.locked_until <= seconds)
        .values(failures=StaffLoginThrottle.failures + 1, day=today)
        .returning(StaffLoginThrottle.failures)
        .execution_options(synchronize_session=False)
    ).scalar()
    if counted is None:
        until = db.scalar(
            select(StaffLoginThrottle.locked_until).where(StaffLoginThrottle.name_tag == tag)
        )
        db.commit()
        return max(1, int((until or seconds) - now) + 1)
    wait = _backoff(counted, max_backoff_seconds)
    if wait:
        db.execute(
            update(StaffLoginThrottle)
            .where(StaffLoginThrottle.name_tag == tag)
            .values(locked_until=seconds + wait)
            .execution_options(synchronize_session=False)
        )
    db.commit()
    return 0


def _use_step(db: Session, account: StaffAccount, step: int) -> bool:
    """Move the account's last step forward to `step`, unless a login got there first.

    A compare-and-set in the database: of parallel logins with one code, exactly one
    sees its UPDATE change a row (PostgreSQL re-checks the WHERE after the row lock;
    SQLite serialises writers).
    """
    result = db.execute(
        update(StaffAccount)
        .where(StaffAccount.id == account.id, StaffAccount.last_totp_step < step)
        .values(last_totp_step=step)
        .execution_options(synchronize_session=False)
    )
    db.expire(account, ["last_totp_step"])
    return bool(getattr(result, "rowcount", 0) == 1)


def _totp_secret(key: StaffKey, account: StaffAccount) -> str:
    """The account's TOTP secret; one still in the clear (an older instance) is sealed now."""
    if account.totp_secret.startswith(SEALED_PREFIX):
        return key.open(account.name, account.totp_secret)
    secret = account.totp_secret
    account.totp_secret = key.seal(account.name, secret)
    return secret


def check_login(
    db: Session,
    key: StaffKey,
    name: str,
    password: str,
    code: str,
    cost: Argon2Cost,
    max_backoff_seconds: int,
    now: float | None = None,
) -> LoginResult:
    """Check a login; throttle state is committed here, the caller commits the rest.

    A name without an account goes through the same steps as a real one (the throttle,
    an Argon2id check against a dummy hash, the TOTP computation), so neither the answer
    nor the throttling tells whether a name exists.
    """
    now = time.time() if now is None else now
    today = datetime.datetime.fromtimestamp(now, datetime.UTC).date()
    name = name[:64]
    wait = _reserve_attempt(db, key.name_tag(name), now, today, max_backoff_seconds)
    if wait:
        return LoginResult(LoginOutcome.THROTTLED, retry_after=wait)
    account = db.scalar(select(StaffAccount).where(StaffAccount.name == name))
    if account is None:
        password_matches(_dummy_hash(cost), password)
        _totp_step(_DUMMY_SECRET, code, now)
        return LoginResult(LoginOutcome.WRONG)
    password_ok = password_matches(account.password_hash, password)
    try:
        secret = _totp_secret(key, account)
    except StaffKeyError:
        # Fail closed: a lost or replaced key file, or a secret moved between accounts.
        log.error("the TOTP secret of a staff account does not open with secrets/staff-key")
        return LoginResult(LoginOutcome.WRONG, account)
    code_ok, step = _totp_step(secret, code, now)
    if not (password_ok and code_ok):
        return LoginResult(LoginOutcome.WRONG, account)
    if not _use_step(db, account, step):
        return LoginResult(LoginOutcome.REPLAYED, account)
    db.execute(
        update(StaffLoginThrottle)
        .where(StaffLoginThrottle.name_tag == key.name_tag(name))
        .values(failures=0, locked_until=0)
        .execution_options(synchronize_session=False)
    )
    return LoginResult(LoginOutcome.OK, account)


def change_password(account: StaffAccount, new_password: str, cost: Argon2Cost) -> None:
    """Set a new password; every other session of this account ends (the caller commits)."""
    check_new_password(new_password, account.password_hash)
    account.password_hash = hash_password(new_password, cost)
    account.must_change_password = False
    account.session_nonce = secrets.token_hex(16)


def end_sessions(account: StaffAccount) -> None:
    """Log out everywhere: cookies carry the old nonce (the caller commits)."""
    account.session_nonce = secrets.token_hex(16)
