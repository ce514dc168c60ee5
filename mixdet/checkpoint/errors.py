"""The one error type for checkpoints that cannot be used."""


class CheckpointError(ValueError):
    """A checkpoint (file or URL) that cannot be used; the message is one line naming it."""


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message (at most 200 characters), or its type name."""
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__
