"""Atomic file replacement: write to a temporary name in the same folder, fsync, rename, fsync the folder.

A reader (or a resumed run after a kill) then sees either the old file or the complete new one under the
final name, never a partly written file.
"""
from __future__ import annotations

import os
import os.path as osp
import re
from typing import Callable

PARTIAL = re.compile(r'\.(?P<name>.+)\.mixdet-partial-(?P<pid>\d+)')


def temporary_name(path: str) -> str:
    """A hidden name next to ``path`` for its content in progress: ``.<name>.mixdet-partial-<pid>``."""
    folder, name = osp.split(path)
    return osp.join(folder, f'.{name}.mixdet-partial-{os.getpid()}')


def dead_partials(folder: str, owns: Callable[[str], bool]) -> list[str]:
    """Temporary files in ``folder`` that :func:`temporary_name` made for a final name that ``owns`` accepts,
    written by a process that no longer runs on this machine (a killed save)."""
    found = []
    for entry in os.listdir(folder):
        match = PARTIAL.fullmatch(entry)
        if match and owns(match['name']) and not _running(int(match['pid'])):
            found.append(osp.join(folder, entry))
    return found


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _fsync_folder(folder: str) -> None:
    fd = os.open(folder or '.', os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_file(partial: str, path: str) -> None:
    """Flush ``partial`` to disk and rename it to ``path`` (replacing it atomically)."""
    with open(partial, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(partial, path)
    _fsync_folder(osp.dirname(path))


def write_text_atomically(path: str, text: str) -> None:
    """Replace ``path`` by a file holding ``text``, atomically."""
    partial = temporary_name(path)
    with open(partial, 'w') as f:
        f.write(text)
    commit_file(partial, path)
