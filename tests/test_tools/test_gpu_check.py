"""tools/misc/gpu_check.py rehearsed on the CPU in the GPU machine's profile, so that the acceptance run works there
the first time: a plain copy of the repository (mixdet not installed), mmdet/mmcv/mmengine not importable, run
from the copy's root, tiny shapes (``--device cpu``)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO

HIDDEN = ('mmdet', 'mmcv', 'mmengine')
# Loaded by every Python process of the rehearsal (PYTHONPATH): OpenMMLab imports fail, and `mixdet` is only
# found inside the copy (an installed or editable mixdet does not count).
SITECUSTOMIZE = f'''
import importlib.abc, importlib.machinery, os, sys

ROOT = os.environ['MIXDET_REHEARSAL_ROOT'] + os.sep


class GpuMachineProfile(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in {HIDDEN!r}:
            raise ModuleNotFoundError(f'No module named {{name!r}} (hidden: no OpenMMLab on the GPU machine)')
        if name == 'mixdet':
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is None or not (spec.origin or '').startswith(ROOT):
                raise ModuleNotFoundError("No module named 'mixdet' (not installed on the GPU machine)")
            return spec
        return None


sys.meta_path.insert(0, GpuMachineProfile())
'''


def checkout_copy(dest: Path) -> Path:
    """The repository's files as a checkout has them (tracked and untracked, not ignored), plus the built
    extension mixdet/ops/_C*.so (the dry run uses it; the GPU run builds it there)."""
    listed = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split('\0')
    extension = [str(p.relative_to(REPO)) for p in (REPO / 'mixdet' / 'ops').glob('_C*.so')]
    assert extension, 'mixdet/ops/_C*.so is not built in the repository (make install builds it)'
    for name in [n for n in listed if n] + extension:
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope='module')
def profile(tmp_path_factory):
    """(copy of the repository, environment of the GPU machine's profile)."""
    root = checkout_copy(tmp_path_factory.mktemp('checkout'))
    hide = tmp_path_factory.mktemp('profile')
    (hide / 'sitecustomize.py').write_text(SITECUSTOMIZE)
    env = {k: v for k, v in os.environ.items() if not k.startswith('MIXDET_')}
    env.update(PYTHONPATH=str(hide), MIXDET_REHEARSAL_ROOT=str(root))
    return root, env


def python(args, cwd, env, timeout=120):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_profile_hides_openmmlab_and_the_installed_mixdet(profile, tmp_path):
    root, env = profile
    for name in HIDDEN:
        child = python(['-c', f'import {name}'], tmp_path, env)
        assert child.returncode != 0 and 'hidden: no OpenMMLab' in child.stderr, child.stderr[-1000:]
    child = python(['-c', 'import mixdet'], tmp_path, env)  # outside the copy
    assert child.returncode != 0 and 'not installed on the GPU machine' in child.stderr, child.stderr[-1000:]


def test_gpu_check_dry_run_in_the_gpu_machine_profile(profile):
    """From the copy's root, as on the GPU machine: the op tests are collected and run, every section is written."""
    root, env = profile
    result = python(['tools/misc/gpu_check.py', '--device', 'cpu', '--out', 'work_dirs/rehearsal'], root, env,
                    timeout=900)
    report_path = root / 'work_dirs/rehearsal/report.md'
    report = report_path.read_text() if report_path.exists() else '(no report)'
    assert result.returncode == 0, report[:4000] + (result.stdout + result.stderr)[-2000:]
    for heading in ('## CUDA op tests', '## MixNet-S depthwise layers', '## MixNet-S training step', '## Targets'):
        assert heading in report, report
    tests_line = next(line for line in report.splitlines() if line.startswith('`pytest'))
    # collected and run (without a GPU the cuda tests skip with their reason)
    assert ('skipped' in tests_line or 'passed' in tests_line) and 'error' not in tests_line, tests_line
    assert 'forward+backward 3|X| + 2|Y|' in report  # both floors are stated
    assert report.count('| PASS |') + report.count('| FAIL |') == 7  # every target is checked
    assert 'relative error' in report and 'Tests passed' in report


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is here: the GPU run would run for real')
def test_gpu_run_without_cuda_says_why_on_the_first_line(profile, tmp_path):
    """On this machine (torch without CUDA or no GPU) the GPU run stops at once and its first line says why."""
    root, env = profile
    result = python(['tools/misc/gpu_check.py', '--out', str(tmp_path)], root, env)
    first = result.stdout.splitlines()[0] if result.stdout else ''
    assert result.returncode == 2 and first.startswith('gpu_check: cannot run: '), result.stdout + result.stderr
    assert 'CPU-only build' in first or 'sees no GPU' in first or 'toolkit' in first, first
    assert (tmp_path / 'report.md').read_text().splitlines()[0] == first


def test_floor_bytes():
    """Forward: |X| + |Y|; forward+backward: 3|X| + 2|Y| (2.5x the forward at stride 1, 2.8x at stride 2)."""
    sys.path.insert(0, str(REPO / 'tools' / 'analysis_tools'))
    try:
        from benchmark_mixconv import floor_bytes
    finally:
        sys.path.pop(0)
    assert floor_bytes('fwd', 2, 3, 10, 10, 4) == 2 * 3 * 200 * 4
    assert floor_bytes('fwdbwd', 2, 3, 10, 10, 4) == 2.5 * floor_bytes('fwd', 2, 3, 10, 10, 4)
    assert floor_bytes('fwdbwd', 1, 1, 20, 10, 2) == 2.8 * floor_bytes('fwd', 1, 1, 20, 10, 2)


def test_cuda_home_follows_an_nvcc_wrapper(tmp_path, monkeypatch):
    """An nvcc on the PATH that is a wrapper script (as on the GPU machine) leads to the toolkit it runs, not to
    the wrapper's parent folder (torch's guess, which has no CUDA headers)."""
    sys.path.insert(0, str(REPO / 'tools' / 'misc'))
    try:
        from cuda_toolkit import cuda_home
    finally:
        sys.path.pop(0)
    toolkit = tmp_path / 'cuda-13.0'
    (toolkit / 'bin').mkdir(parents=True)
    (toolkit / 'include').mkdir()
    (toolkit / 'include' / 'cuda_runtime.h').write_text('')
    (toolkit / 'bin' / 'nvcc').write_bytes(b'\x7fELF')
    (toolkit / 'bin' / 'nvcc').chmod(0o755)
    wrappers = tmp_path / 'local' / 'bin'
    wrappers.mkdir(parents=True)
    (wrappers / 'nvcc').write_text(f'#!/bin/sh\nexec {toolkit}/bin/nvcc "$@"\n')
    (wrappers / 'nvcc').chmod(0o755)
    monkeypatch.delenv('CUDA_HOME', raising=False)
    monkeypatch.delenv('CUDA_PATH', raising=False)
    monkeypatch.setenv('PATH', str(wrappers))
    assert cuda_home()[0] == str(toolkit)
    monkeypatch.setenv('CUDA_HOME', str(tmp_path / 'local'))  # a wrong CUDA_HOME is named, not used
    home, why = cuda_home()
    assert home is None and str(tmp_path / 'local') in why
