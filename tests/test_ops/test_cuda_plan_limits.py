"""The CUDA launch planner (mixdet.ops.cuda_launch_plan, C++ in every build) on random and extreme shapes: it never
takes the process down, and every plan it gives stays within CUDA's launch limits.

Before, N=0 divided by zero in the planner (SIGFPE killed the Python process).
"""
import random

import pytest
import torch

from mixdet.ops import cuda_launch_plan

MAX_GRID_X, MAX_GRID_Y, MAX_THREADS, MAX_SMEM = 2**31 - 1, 65535, 1024, 48 * 1024  # no opt-in to more smem
KERNELS = (1, 3, 5, 7, 9, 11)
EXTREME = [0, 1, 2, 3, 7, 2**16, 2**31 - 1, 2**31, 2**40, 2**62]


def check_plan(shape, kernels, stride, dtype):
    """The plan of one call: within the limits, or a reason / one error line."""
    where = f'shape {shape}, kernels {kernels}, stride {stride}, {dtype}'
    try:
        plan = cuda_launch_plan(shape, kernels, stride=stride, dtype=dtype)
    except (ValueError, RuntimeError) as error:  # the op's own checks: one line that says what is wrong
        message = str(error)
        assert message and '\n' not in message.strip(), (where, message)
        return 'error'
    if not plan['supported']:
        assert plan['reason'], where
        return 'unsupported'
    if plan.get('empty'):
        assert 0 in shape and not plan['forward']['kernels'] and not plan['backward']['kernels'], (where, plan)
        return 'empty'
    for pass_name in ('forward', 'backward'):
        for name, kernel in plan[pass_name]['kernels'].items():
            grid_x, grid_y = kernel['grid']
            assert 1 <= grid_x <= MAX_GRID_X and 1 <= grid_y <= MAX_GRID_Y, (where, name, kernel)
            assert kernel['threads'] % 32 == 0 and 32 <= kernel['threads'] <= MAX_THREADS, (where, name, kernel)
            assert 0 <= kernel['smem_bytes'] <= MAX_SMEM, (where, name, kernel)
        assert plan[pass_name]['workspace_bytes'] >= 0, where
    return 'planned'


def test_random_and_extreme_shapes_stay_within_cuda_limits():
    rng, outcomes = random.Random(0), {}
    for i in range(1500):
        groups = rng.randint(1, 9)
        kernels = [rng.choice(KERNELS + (13,)) if i % 50 == 0 else rng.choice(KERNELS) for _ in range(groups)]
        size = (lambda: rng.choice(EXTREME)) if i % 3 == 0 else (lambda: rng.randint(1, 400))
        shape = [size(), max(size(), groups) if i % 7 else size(), size(), size()]
        outcome = check_plan(shape, kernels, rng.choice([1, 2, 2, 3]), rng.choice([torch.float32, torch.float64]))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert set(outcomes) == {'error', 'unsupported', 'empty', 'planned'}, outcomes  # every branch was reached
    assert outcomes['planned'] > 500, outcomes


@pytest.mark.parametrize('shape,outcome', [
    ((0, 16, 8, 8), 'empty'), ((0, 2**31 - 1, 1, 1), 'empty'), ((1, 0, 8, 8), 'error'), ((1, 16, 0, 8), 'error'),
    ((1, 16, 8, 0), 'error'), ((-1, 16, 8, 8), 'error'), ((1, 16, -8, 8), 'error'), ((2**40, 16, 8, 8), 'unsupported'),
    ((2**62, 16, 8, 8), 'unsupported'), ((1, 2**31 - 1, 1, 1), 'planned'), ((1, 16, 2**31, 2**31), 'unsupported'),
    ((2**30, 16, 64, 64), 'unsupported'), ((1, 3, 1, 1), 'planned'), ((1, 2**20, 32, 32), 'planned'),
])
def test_degenerate_and_huge_sizes(shape, outcome):
    """Sizes of 0 give an empty plan or an error; the unsupported ones say which size is too large."""
    assert check_plan(list(shape), [3, 5, 7], 2, torch.float32) == outcome
    if outcome == 'unsupported':
        reason = cuda_launch_plan(list(shape), [3, 5, 7], stride=2)['reason']
        assert any(str(v) in reason for v in shape) or 'grid' in reason, reason


def test_negative_size_error_names_the_value():
    with pytest.raises(ValueError, match=r'N must be a non-negative int, got -1'):
        cuda_launch_plan((-1, 16, 8, 8), [3])
    with pytest.raises(RuntimeError, match=r'empty spatial size \[1, 16, 0, 8\]'):
        cuda_launch_plan((1, 16, 0, 8), [3])
