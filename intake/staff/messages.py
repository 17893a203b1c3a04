"""Every sentence the staff app's Python code shows, marked for translation in one place.

The staff app has its own catalogs (intake/staff/translations: en, fr, zh-Hans, zh-Hant),
apart from the source pages' six. `lazy_gettext` so each is translated per request.
"""

from __future__ import annotations

# Named `_` so `pybabel extract` finds these with its default keywords.
from flask_babel import lazy_gettext as _


def N_(message: str) -> str:
    """Mark a message with placeholders for extraction; `gettext(it, **values)` shows it."""
    return message


WRONG_LOGIN = _("Login failed: the name, the password or the code is wrong.")
REPLAYED_CODE = _("That code was already used. Wait for the next code and try again.")
BUSY = _("The server is busy checking other logins. Try again in a moment.")
THROTTLED_TEXT = N_("Too many failed attempts for this account. Try again in %(seconds)s seconds.")
CURRENT_PASSWORD_WRONG = _("The current password is wrong.")
PASSWORDS_DIFFER = _("The two new passwords differ.")
PASSWORD_TOO_SHORT_TEXT = N_("Choose a password of at least %(count)s characters.")
PASSWORD_UNCHANGED = _("Choose a password different from the current one.")
NOTHING_TO_EXPORT = _("Nothing to download: no pending envelopes.")
CHOOSE_REPLY_BUNDLE = _("Choose a reply bundle file to upload.")
CHOOSE_ACK = _("Choose an ack file to upload.")
NO_ADMIN_IDENTITY = _("The admin identity is missing.")
REPLIES_REFUSED = _("The reply bundle was refused. Nothing was stored.")
ACK_REFUSED = _("The ack was refused. Nothing was deleted.")
OFFLINE_TITLE = _("Offline")
OFFLINE_TEXT = _("The admin identity of this instance is missing or damaged; see the server log.")
TOO_LARGE = _("The file is too large for a reply bundle or an ack. Nothing was changed.")
FORM_EXPIRED_TITLE = _("Form expired")
FORM_EXPIRED = _("The form expired or did not come from this site. Go back, reload, try again.")
ERROR_TITLES = {
    400: _("Bad request"),
    403: _("Not allowed"),
    404: _("Page not found"),
    405: _("Not allowed"),
    413: _("Too large"),
    500: _("Something went wrong"),
}
ERROR_TEXTS = {
    400: _("The request could not be understood."),
    403: _("This action is not allowed."),
    404: _("There is no page at this address."),
    405: _("This page cannot be used that way."),
    500: _("Something went wrong on our side. Please try again."),
}
UNKNOWN_NAME = _("(a name no account has)")
OPERATOR = _("operator (command line)")
# The audit's action codes (intake/transfer/audit.py callers), as a person reads them.
ACTIONS = {
    "login": _("logged in"),
    "logout": _("logged out"),
    "login-failed": _("failed login"),
    "login-replayed": _("code used twice"),
    "password-change": _("changed password"),
    "export": _("downloaded a bundle"),
    "import-replies": _("uploaded replies"),
    "apply-ack": _("applied an ack"),
    "purge": _("purged"),
    "staff-add": _("added an account"),
    "staff-remove": _("removed an account"),
}
