"""The one exception type a user may see: its message is a complete, one-line explanation."""


class RagbotError(Exception):
    """A problem the user can fix (bad input, missing index, corrupted file); shown as one line."""
