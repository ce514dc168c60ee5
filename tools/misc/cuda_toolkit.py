"""The CUDA toolkit that builds mixdet's CUDA kernels: the real folder behind ``nvcc``, wrapper or not.

torch guesses ``CUDA_HOME`` from the ``nvcc`` on the PATH as ``dirname(dirname(nvcc))``; where that ``nvcc``
is a wrapper script (``exec /usr/local/cuda-13.0/bin/nvcc "$@"`` in /usr/local/bin), the guess is /usr/local,
which has no CUDA headers, and the build fails. ``cuda_home()`` follows the wrapper to the toolkit it runs.
Used by tools/misc/gpu_check.py and tools/misc/cuda_resources.py (``make cuda-check``)::

    python tools/misc/cuda_toolkit.py     # prints the toolkit folder, or says why there is none
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from typing import Optional


def _is_toolkit(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, 'bin', 'nvcc')) and \
        os.path.isfile(os.path.join(folder, 'include', 'cuda_runtime.h'))


def _wrapped_nvcc(script: str) -> Optional[str]:
    """The absolute path of an nvcc that the shell script ``script`` runs, if it names one."""
    with open(script, 'rb') as f:
        head = f.read(4096)
    if not head.startswith(b'#!'):
        return None  # a binary: no wrapper
    for match in re.finditer(rb'(/[^\s"\'$]*/bin/nvcc)\b', head):
        candidate = match.group(1).decode()
        if os.path.realpath(candidate) != os.path.realpath(script) and os.path.isfile(candidate):
            return candidate
    return None


def cuda_home() -> tuple[Optional[str], str]:
    """(toolkit folder or None, how it was found or why not). ``$CUDA_HOME`` wins when it is a toolkit."""
    env = os.environ.get('CUDA_HOME') or os.environ.get('CUDA_PATH')
    if env:
        if _is_toolkit(env):
            return env, f'CUDA_HOME={env}'
        return None, f'CUDA_HOME={env} has no bin/nvcc and include/cuda_runtime.h'
    nvcc = shutil.which('nvcc')
    if nvcc is None:
        default = '/usr/local/cuda'
        if _is_toolkit(default):
            return default, f'{default} (no nvcc on the PATH)'
        return None, 'nvcc is not on the PATH and CUDA_HOME is not set'
    seen, current = [nvcc], nvcc
    while True:  # wrappers may call wrappers
        target = _wrapped_nvcc(current)
        if target is None or target in seen:
            break
        seen.append(target)
        current = target
    folder = os.path.dirname(os.path.dirname(os.path.realpath(current)))
    if _is_toolkit(folder):
        return folder, ' -> '.join(seen) + f' (toolkit {folder})'
    return None, f'nvcc at {" -> ".join(seen)} belongs to no toolkit folder with include/cuda_runtime.h ({folder})'


def main() -> None:
    folder, how = cuda_home()
    if folder is None:
        sys.exit(f'cuda_toolkit: no CUDA toolkit: {how}')
    print(folder)


if __name__ == '__main__':
    main()
