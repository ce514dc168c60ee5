"""The emulation harness catches broken kernels: each test copies the kernel headers, breaks them in one
place (a textual mutation of the real mixconv_kernels.cuh / mixconv_launch.h at test time), builds the
emulation against the copy (float32 only) and expects mismatches, or a crash at the shared-memory guard.
"""
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch

from cuda_emulation import harness
from cuda_emulation.fixtures import one_torch_thread  # noqa: F401 (autouse: one torch thread here)

CASES = [harness.Case(1, 20, 23, [3, 2], [3, 5], 1, 'symmetric', seed=1),
         harness.Case(2, 17, 70, [2, 2, 1], [7, 3, 11], 2, 'same', seed=2)]


def mutate(tmp_path, file: str, anchor: str, old: str, new: str) -> str:
    """A copy of the kernel headers where the first `old` after `anchor` in `file` reads `new`; its csrc dir."""
    csrc = str(tmp_path / 'csrc')
    for path in harness.kernel_sources(harness.CSRC):
        dst = os.path.join(csrc, os.path.relpath(path, harness.CSRC))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(path, dst)
    target = os.path.join(csrc, file)
    with open(target) as f:
        text = f.read()
    start = text.index(anchor)  # a ValueError here means the kernel changed: update the mutation
    at = text.index(old, start)
    with open(target, 'w') as f:
        f.write(text[:at] + new + text[at + len(old):])
    return csrc


def problems(csrc: str) -> list[str]:
    ops = harness.build(csrc, float_only=True)
    return [p for case in CASES for schedule in (0, 1) for p in harness.mismatches(ops, case, torch.float32, schedule)]


def test_unmutated_float_build_matches():
    assert problems(harness.CSRC) == []


@pytest.mark.parametrize('name,file,anchor,old,new', [
    ('forward barrier removed', 'cuda/mixconv_kernels.cuh', 'void forward_item(', '__syncthreads();', ''),
    ('backward barrier removed', 'cuda/mixconv_kernels.cuh', 'void backward_cta(', '__syncthreads();', ''),
    ('forward window one vector short', 'cuda/mixconv_kernels.cuh', 'void load_window(', 'i < kVectors;',
     'i < kVectors - 1;'),
    ('dW warp reduction one step short', 'cuda/mixconv_kernels.cuh', 'void backward_cta(', 'offset = width / 2;',
     'offset = width / 4;'),
    ('dX strip window one element short', 'cuda/mixconv_kernels.cuh', 'void dx_strip(', 'm < kWin;', 'm < kWin - 1;'),
    ('backward x tile one column short for the last dW strip', 'cuda/mixconv_launch.h', 'struct BackwardTile {',
     'x_w((tile_w + dw_strip(s) - 2) * s + k)', 'x_w((tile_w + dw_strip(s) - 2) * s + k - 1)'),
])
def test_broken_kernel_is_caught(tmp_path, name, file, anchor, old, new):
    found = problems(mutate(tmp_path, file, anchor, old, new))
    assert found, f'the emulation did not notice: {name}'


def run_child(csrc: str, ubsan: bool = False) -> subprocess.CompletedProcess:
    """One case run in a child process with the emulated kernels of csrc (a crash must not end pytest)."""
    harness.build(csrc, float_only=True, ubsan=ubsan)  # compile errors surface here, not in the child
    script = ('import sys, torch; sys.path.insert(0, sys.argv[1]); import harness; '
              'harness.mismatches(harness.build(sys.argv[2], float_only=True, ubsan=sys.argv[3] == "1"), '
              'harness.Case(1, 20, 23, [4], [5], 1, "symmetric"), torch.float32); print("ran")')
    return subprocess.run([sys.executable, '-c', script, harness.HERE, csrc, str(int(ubsan))], capture_output=True,
                          text=True, timeout=300)


def test_shared_memory_overrun_faults(tmp_path):
    """The planner sizing the forward tile one input row short makes the kernel run into the guard page."""
    child = run_child(harness.CSRC)
    assert child.returncode == 0 and 'ran' in child.stdout, child.stderr[-2000:]
    child = run_child(mutate(tmp_path, 'cuda/mixconv_launch.h', 'struct ForwardTile {', 'in_h((tile_h - 1) * s + k)',
                             'in_h((tile_h - 1) * s + k - 1)'))
    assert child.returncode == -signal.SIGSEGV, (child.returncode, child.stdout, child.stderr[-2000:])


def test_misaligned_vector_load_is_reported(tmp_path):
    """Input tiles placed right after the weights, not at a 16-byte boundary, misalign the forward's vector
    loads (a fault on a GPU): the build with UBSan names it."""
    child = run_child(mutate(tmp_path, 'cuda/mixconv_kernels.cuh', 'void forward_item(',
                             'smem + round_up(a.cb * K * K, kSmemVec)', 'smem + a.cb * K * K'), ubsan=True)
    assert child.returncode != 0 and 'misaligned address' in child.stderr, (child.returncode, child.stderr[-2000:])
