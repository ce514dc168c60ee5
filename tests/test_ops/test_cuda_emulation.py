"""The CUDA kernels' device code (mixconv_kernels.cuh), run on the CPU under the CUDA emulation.

Every case runs the real launch planning and kernels (forward, backward, dW reduction) with outputs and
workspace pre-filled with NaN and compares y, dX and dW with the float64 reference
(mixdet.ops.mixconv2d_reference; F.pad + conv2d for explicit pads). Thread schedules vary (in order,
reversed, shuffled), so a missing barrier shows up as a wrong or NaN result.
"""
import random

import pytest
import torch

from cuda_emulation import harness
from mixdet.ops import mixconv2d_reference

KERNELS = (1, 3, 5, 7, 9, 11)
DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """The references are tiny convolutions: a thread pool only adds waiting (10x slower on 2 busy cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def emulated():
    return harness.build()


def random_padding(rng: random.Random, kernels):
    """'symmetric', 'same' or explicit (pad_top, pad_left) in [0, k - 1] per group."""
    mode = rng.choice(['symmetric', 'same', 'explicit'])
    return mode if mode != 'explicit' else [(rng.randint(0, k - 1), rng.randint(0, k - 1)) for k in kernels]


def kernel_sweep():
    """Each kernel size alone and beside another, both strides, three paddings, two sizes."""
    rng, cases = random.Random(1), []
    for k in KERNELS:
        for stride in (1, 2):
            for padding in ('symmetric', 'same', 'explicit'):
                for n, h, w in ((1, 7, 9), (3, 16, 17)):
                    kernels = [k, rng.choice(KERNELS)]
                    pads = padding if padding != 'explicit' else [(rng.randint(0, q - 1), rng.randint(0, q - 1))
                                                                  for q in kernels]
                    cases.append(harness.Case(n, h, w, [3, 2], kernels, stride, pads, seed=len(cases)))
    return cases


def random_groups(count: int, seed: int):
    """1 to 8 uneven groups of any kernel sizes, sizes 1 to 40, N 1 or 3."""
    rng, cases = random.Random(seed), []
    for i in range(count):
        kernels = [rng.choice(KERNELS) for _ in range(rng.randint(1, 8))]
        channels = [rng.randint(1, 5) for _ in kernels]
        cases.append(harness.Case(rng.choice([1, 3]), rng.randint(1, 40), rng.randint(1, 40), channels, kernels,
                                  rng.choice([1, 2]), random_padding(rng, kernels), seed=seed * 1000 + i))
    return cases


# Several tiles in x and/or y, a 1-row and a 1-column plane, planes smaller than the kernel.
TILED = [(1, 40, 70), (1, 130, 9), (1, 65, 130), (1, 1, 1100), (1, 300, 1), (1, 80, 80), (3, 33, 66), (1, 17, 200)]
TINY = [(1, 1, 1), (1, 1, 2), (2, 2, 1), (1, 2, 3), (3, 3, 3)]


def tiled_cases():
    rng, cases = random.Random(3), []
    for n, h, w in TILED:
        for stride in (1, 2):
            kernels = rng.sample(KERNELS, 3)
            cases.append(harness.Case(n, h, w, [2, 3, 1], kernels, stride, random_padding(rng, kernels),
                                      seed=len(cases)))
    for n, h, w in TINY:
        for stride in (1, 2):
            cases.append(harness.Case(n, h, w, [2, 1], [11, 9], stride, rng.choice(['same', 'symmetric']),
                                      seed=100 + len(cases)))
    return cases


def check_all(emulated, cases, dtype, schedules=(0, 1, 7)):
    """Runs every case (schedules rotating over the cases) and fails listing the mismatching ones."""
    failures = []
    for i, case in enumerate(cases):
        problems = harness.mismatches(emulated, case, dtype, schedules[i % len(schedules)])
        if problems:
            failures.append(f'{case}: {"; ".join(problems)}')
    assert not failures, f'{len(failures)} of {len(cases)} cases differ:\n' + '\n'.join(failures[:8])


@pytest.mark.parametrize('dtype', DTYPES, ids=str)
def test_kernel_sizes_strides_paddings(emulated, dtype):
    check_all(emulated, kernel_sweep(), dtype)


@pytest.mark.parametrize('dtype', DTYPES, ids=str)
@pytest.mark.parametrize('seed', [11, 12])
def test_uneven_groups(emulated, dtype, seed):
    check_all(emulated, random_groups(40, seed), dtype)


@pytest.mark.parametrize('dtype', DTYPES, ids=str)
def test_tiles_and_tiny_planes(emulated, dtype):
    check_all(emulated, tiled_cases(), dtype)


def test_one_gradient_at_a_time(emulated):
    """dX alone and dW alone take other paths through the backward kernel."""
    case = harness.Case(3, 21, 34, [3, 2, 4], [3, 7, 11], 2, 'same', seed=5)
    x, weights, grad = case.tensors(torch.float32)
    _, ref_dx, ref_dw = harness.reference(case, x, weights, grad)
    _, dx, dw, _ = harness.run(emulated, case, torch.float32, need_dw=False)
    assert dw is None and not harness.compare('dX', dx, ref_dx, torch.float32)
    _, dx, dw, _ = harness.run(emulated, case, torch.float32, need_dx=False)
    assert dx is None and not harness.compare('dW', dw, ref_dw, torch.float32)


def test_explicit_pad_reference_is_the_reference():
    """The F.pad oracle of explicit pads equals mixconv2d_reference for the pads of 'symmetric' and 'same'."""
    for padding in ('symmetric', 'same'):
        case = harness.Case(2, 15, 12, [2, 3], [3, 7], 2, padding, seed=9)
        pads = case.pads()
        explicit = harness.Case(2, 15, 12, [2, 3], [3, 7], 2, list(zip(pads[::2], pads[1::2])), seed=9)
        x, weights, grad = case.tensors(torch.float64)
        for got, want in zip(harness.reference(explicit, x, weights, grad), harness.reference(case, x, weights, grad)):
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
        assert torch.equal(harness.reference(case, x, weights, grad)[0], mixconv2d_reference(x, weights, None, 2,
                                                                                             padding))
