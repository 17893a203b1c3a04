"""Every user-facing sentence the Python code shows, marked for translation in one place.

Templates hold the rest. `lazy_gettext` so each is translated for the request that shows it.
"""

from __future__ import annotations

# Named `_` so `pybabel extract` finds these with its default keywords.
from flask_babel import lazy_gettext as _

# Submissions
MALFORMED_UPLOAD = _(
    "The upload could not be read. Please go back, check the form and send it again."
)
CSRF_FAILED = _(
    "This form has expired or was not sent from this site. Please go back, reload the page "
    "and send it again."
)
REJECTED = _("This submission was not accepted.")
NARRATIVE_REQUIRED = _("Please describe what happened: the description is required.")
EMPTY_FOLLOW_UP = _("Please write a message or choose at least one file.")
NARRATIVE_TOO_LONG = _(
    "Your description is longer than this service accepts. Please shorten it, or send the "
    "rest in a text file."
)
ANSWER_TOO_LONG = _("One of your answers is too long. Please shorten it.")
FILE_TOO_LARGE = _(
    "A file is larger than this service accepts. Nothing was kept. Please send a smaller "
    "file or split it."
)
SUBMISSION_TOO_LARGE = _(
    "This submission is larger than this service accepts. Nothing was kept. Please send "
    "fewer or smaller files, in several submissions."
)
TOO_MANY_FILES = _(
    "This submission has more files than this service accepts at once. Nothing was kept. "
    "Please send the files in several submissions."
)
BAD_FILENAME = _(
    "A file name could not be accepted. Please rename the file (letters, digits and simple "
    "punctuation) and send it again."
)
INVISIBLE_FILENAME = _(
    "A file name contains invisible or direction-changing characters, which can disguise "
    "what the file is. Please rename the file with ordinary letters and digits and send it "
    "again. Nothing was kept."
)
INTERRUPTED = _("The upload was interrupted. Nothing was kept. Please try again.")
STORAGE_FAILED = _(
    "Your submission could not be stored right now. Nothing was kept. Please try again later."
)

# Receipts and login
RECEIPT_MALFORMED = _(
    "A receipt is 24 digits in six groups of four, for example 4821 0937 5512 6604 7310 3637 "
    "(older receipts have 20 digits)."
)
RECEIPT_MISTYPED = _(
    "This receipt has a typing mistake: one or more digits are wrong or in the wrong order. "
    "Please check each group of four and try again. Nothing is lost."
)
RECEIPT_UNKNOWN = _("No submission matches this receipt. Check the digits and try again.")
LOGIN_LOCKED = _(
    "Too many wrong receipts were tried on this service recently. Please wait a few minutes "
    "and try again."
)
BUSY = _("The service is busy. Please wait a minute and try again.")
SESSION_ENDED = _("Your session has ended. Please enter your receipt again.")
REPLY_UNVERIFIED = _(
    "A reply could not be verified as coming from the organisation, so it is not shown."
)

UNAVAILABLE = _(
    "The service is not available right now. If you were sending something, nothing was "
    "kept. Please try again in a few minutes."
)

# Error pages: (title, explanation)
ERROR_TEXT = {
    400: (_("Bad request"), _("The request could not be understood.")),
    403: (_("Not allowed"), _("This action is not allowed.")),
    404: (_("Page not found"), _("There is no page at this address.")),
    405: (_("Not allowed"), _("This page cannot be used that way.")),
    413: (_("Too large"), SUBMISSION_TOO_LARGE),
    429: (_("Too many attempts"), LOGIN_LOCKED),
    500: (_("Something went wrong"), _("Something went wrong on our side. Please try again.")),
    503: (_("Please try again later"), BUSY),
}
OFFLINE_TITLE = _("This service is offline")
OFFLINE_TEXT = _(
    "This service cannot accept submissions right now. Nothing you send here could be "
    "protected, so it is closed. Please come back later."
)
