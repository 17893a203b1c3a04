"""Every user-facing sentence the Python code shows, marked for translation in one place.

Templates hold the rest. `lazy_gettext` so each is translated for the request that shows it.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Submissions
MALFORMED_UPLOAD = _l(
    "The upload could not be read. Please go back, check the form and send it again."
)
CSRF_FAILED = _l(
    "This form has expired or was not sent from this site. Please go back, reload the page "
    "and send it again."
)
REJECTED = _l("This submission was not accepted.")
NARRATIVE_REQUIRED = _l("Please describe what happened: the description is required.")
EMPTY_FOLLOW_UP = _l("Please write a message or choose at least one file.")
NARRATIVE_TOO_LONG = _l(
    "Your description is longer than this service accepts. Please shorten it, or send the "
    "rest in a text file."
)
ANSWER_TOO_LONG = _l("One of your answers is too long. Please shorten it.")
FILE_TOO_LARGE = _l(
    "A file is larger than this service accepts. Nothing was kept. Please send a smaller "
    "file or split it."
)
SUBMISSION_TOO_LARGE = _l(
    "This submission is larger than this service accepts. Nothing was kept. Please send "
    "fewer or smaller files, in several submissions."
)
TOO_MANY_FILES = _l(
    "This submission has more files than this service accepts at once. Nothing was kept. "
    "Please send the files in several submissions."
)
BAD_FILENAME = _l(
    "A file name could not be accepted. Please rename the file (letters, digits and simple "
    "punctuation) and send it again."
)
INTERRUPTED = _l("The upload was interrupted. Nothing was kept. Please try again.")
STORAGE_FAILED = _l(
    "Your submission could not be stored right now. Nothing was kept. Please try again later."
)

# Receipts and login
RECEIPT_MALFORMED = _l("A receipt is 20 digits, for example 4821 0937 5512 6604 7310.")
RECEIPT_UNKNOWN = _l("No submission matches this receipt. Check the digits and try again.")
LOGIN_LOCKED = _l(
    "Too many wrong receipts were tried on this service recently. Please wait a few minutes "
    "and try again."
)
BUSY = _l("The service is busy. Please wait a minute and try again.")
SESSION_ENDED = _l("Your session has ended. Please enter your receipt again.")
REPLY_UNVERIFIED = _l(
    "A reply could not be verified as coming from the organisation, so it is not shown."
)

# Error pages: (title, explanation)
ERROR_TEXT = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("This action is not allowed.")),
    404: (_l("Page not found"), _l("There is no page at this address.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Too large"), SUBMISSION_TOO_LARGE),
    429: (_l("Too many attempts"), LOGIN_LOCKED),
    500: (_l("Something went wrong"), _l("Something went wrong on our side. Please try again.")),
    503: (_l("Please try again later"), BUSY),
}
OFFLINE_TITLE = _l("This service is offline")
OFFLINE_TEXT = _l(
    "This service cannot accept submissions right now. Nothing you send here could be "
    "protected, so it is closed. Please come back later."
)
