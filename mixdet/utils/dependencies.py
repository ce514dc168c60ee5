"""Check mixdet's pinned dependencies up front, so that a missing one is one clear sentence."""
from __future__ import annotations

import importlib.metadata
import importlib.util

from packaging.version import Version

# package -> (minimum inclusive, maximum exclusive, how to install)
REQUIREMENTS = {
    'torch': ('2.5', '2.14', 'pip install torch==2.13.0'),  # 2.5: torch.serialization.safe_globals; 2.4: op API
    'mmengine': ('0.10.7', '0.11', 'pip install mmengine==0.10.7'),
    'mmcv': ('2.1.0', '2.2.0', 'MMCV_WITH_OPS=1 pip install --no-build-isolation mmcv==2.1.0'),
    'mmdet': ('3.3.0', '3.4', 'pip install mmdet==3.3.0'),
}


def dependency_problems() -> list[str]:
    """One sentence per missing or out-of-range dependency (empty when all is well)."""
    problems = []
    for name, (low, high, install) in REQUIREMENTS.items():
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f'mixdet needs {name}>={low},<{high}, which is not installed: run `make install` '
                            f'(or `{install}`).')
            continue
        if not Version(low) <= Version(version.split('+')[0]) < Version(high):
            problems.append(f'mixdet needs {name}>={low},<{high} but {name} {version} is installed: '
                            f'run `make install` (or `{install}`).')
    if not problems and importlib.util.find_spec('mmcv._ext') is None:
        problems.append('mixdet needs mmcv built with its compiled ops (mmcv._ext is missing; mmcv-lite is not '
                        'enough): run `MMCV_WITH_OPS=1 pip install --no-build-isolation mmcv==2.1.0`.')
    return problems


def check_dependencies() -> None:
    """Raise ImportError with the first problem found by :func:`dependency_problems`."""
    problems = dependency_problems()
    if problems:
        raise ImportError(problems[0])
