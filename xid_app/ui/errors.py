"""The one error a page shows its user as it is."""


class SessionError(ValueError):
    """An action the user cannot take now; the message is shown to them."""
