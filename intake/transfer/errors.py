"""The one error the transfer functions raise for a person to read."""


class TransferError(ValueError):
    """A bundle, reply bundle or ack is refused; the message says what to do. Nothing changed."""
