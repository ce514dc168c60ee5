"""mixdet's dependency ranges, read from the one file that declares them, and a check of the installed stack.

``requirements/runtime.txt`` holds the ranges (``torch>=2.5,<2.14``, ...): setup.cfg's ``install_requires`` reads
it, ``make install`` installs from it (exact pins only for what the Makefile builds first: torch, mmengine, mmcv),
and :func:`declared_ranges` reads it here, from the checkout the package is imported from or, in an installed
package, from the metadata setup.cfg wrote from it. Plain standard library: ``mixdet.ops`` reads its torch
minimum here on machines without the rest of the stack.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from functools import lru_cache
from pathlib import Path

RUNTIME_FILE = Path(__file__).resolve().parents[2] / 'requirements' / 'runtime.txt'
_REQUIREMENT = re.compile(r'^([A-Za-z0-9_.-]+)\s*([<>=!~][^;#]*)$')  # name, specifiers (no markers)
# How to install what has no plain wheel: mmcv 2.1.0 is built with its compiled ops (docs/environment.md).
BUILD_COMMANDS = {'mmcv': 'MMCV_WITH_OPS=1 pip install --no-build-isolation "{requirement}"'}


@lru_cache(maxsize=None)
def declared_ranges() -> dict[str, tuple[str, str]]:
    """{package: (minimum inclusive, maximum exclusive)} of every runtime requirement written as ``>=low,<high``
    (the metadata may write the bounds in either order)."""
    if RUNTIME_FILE.is_file():
        lines = RUNTIME_FILE.read_text().splitlines()
    else:
        lines = importlib.metadata.requires('mixdet') or []
    ranges = {}
    for line in lines:
        match = _REQUIREMENT.match(line.split('#')[0].strip())
        bounds = dict(re.findall(r'(>=|<)\s*([0-9][0-9.]*)', match[2])) if match else {}
        if set(bounds) == {'>=', '<'}:
            ranges[match[1]] = (bounds['>='], bounds['<'])
    return ranges


def in_range(version: str, low: str, high: str) -> bool:
    """Whether ``version`` (a local part such as ``+cpu`` aside) lies in [low, high)."""
    from packaging.version import Version  # here: mixdet.ops reads declared_ranges where packaging may be missing
    return Version(low) <= Version(version.split('+')[0]) < Version(high)


def install_command(name: str) -> str:
    requirement = '{}>={},<{}'.format(name, *declared_ranges()[name])
    return BUILD_COMMANDS.get(name, 'pip install "{requirement}"').format(requirement=requirement)


def dependency_problems() -> list[str]:
    """One sentence per missing or out-of-range dependency (empty when all is well)."""
    problems = []
    for name, (low, high) in declared_ranges().items():
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f'mixdet needs {name}>={low},<{high}, which is not installed: run `make install` '
                            f'(or `{install_command(name)}`).')
            continue
        if not in_range(version, low, high):
            problems.append(f'mixdet needs {name}>={low},<{high} but {name} {version} is installed: '
                            f'run `make install` (or `{install_command(name)}`).')
    if not problems and importlib.util.find_spec('mmcv._ext') is None:
        problems.append('mixdet needs mmcv built with its compiled ops (mmcv._ext is missing; mmcv-lite is not '
                        f'enough): run `{install_command("mmcv")}`.')
    return problems


def check_dependencies() -> None:
    """Raise ImportError with the first problem found by :func:`dependency_problems`."""
    problems = dependency_problems()
    if problems:
        raise ImportError(problems[0])
