"""Errors of bad data, each one line naming the file or value, and how the tools print them."""


class DataError(ValueError):
    """A dataset, annotation file, image or evaluator setting that would give wrong results or a deep traceback."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """An annotation or image file that does not exist."""


class ImageFileError(DataError):
    """An image met during evaluation that cannot be decoded or differs from its annotated size."""


def one_line(error: BaseException) -> str:
    """The message of ``error`` as one line.

    An error raised in a DataLoader worker process reaches the main process re-raised by torch with the
    worker's traceback as its message ("Caught ... in DataLoader worker process 0. Original Traceback ...");
    its last line is ``module.Class: message``, of which the message is kept.
    """
    lines = str(error).strip().splitlines()
    if len(lines) <= 1:
        return lines[0] if lines else type(error).__name__
    last = lines[-1]
    prefix = f'{type(error).__module__}.{type(error).__qualname__}: '
    return last[len(prefix):] if last.startswith(prefix) else last
