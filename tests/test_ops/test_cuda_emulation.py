"""The CUDA kernels' device code (mixconv_kernels.cuh), run on the CPU under the CUDA emulation.

Every case runs the real launch planning and kernels (forward, backward, dW reduction) with outputs and
workspace pre-filled with NaN and compares y, dX and dW with the float64 reference
(mixdet.ops.mixconv2d_reference; F.pad + conv2d for explicit pads). Thread schedules vary (in order,
reversed, shuffled), so a missing barrier shows up as a wrong or NaN result.
"""
import itertools
import math
import mmap
import os
import random
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from mixdet.ops import mixconv2d_reference, split_channels

from cuda_emulation import harness
from cuda_emulation.fixtures import one_torch_thread  # noqa: F401 (autouse: one torch thread here)

KERNELS = (1, 3, 5, 7, 9, 11)
DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


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
    """1 to 8 uneven groups of any kernel sizes, sizes 1 to 40, N 1 or 3; every other case with a dW workspace
    budget of 1 to 3 rows, so that backward CTAs walk several items."""
    rng, cases = random.Random(seed), []
    for i in range(count):
        kernels = [rng.choice(KERNELS) for _ in range(rng.randint(1, 8))]
        channels = [rng.randint(1, 5) for _ in kernels]
        budget = rng.randint(1, 3) * 4 * sum(c * k * k for c, k in zip(channels, kernels)) if i % 2 else 0
        cases.append(harness.Case(rng.choice([1, 3]), rng.randint(1, 40), rng.randint(1, 40), channels, kernels,
                                  rng.choice([1, 2]), random_padding(rng, kernels), seed=seed * 1000 + i,
                                  budget=budget))
    return cases


# Several tiles in x and/or y, a 1-row and a 1-column plane; planes smaller than the kernel.
TILED = [(1, 40, 70), (1, 130, 9), (1, 65, 130), (1, 1, 1100), (1, 300, 1), (1, 80, 80), (3, 33, 66), (1, 17, 200)]
TINY = [(1, 1, 1), (1, 1, 2), (2, 2, 1), (1, 2, 3), (3, 3, 3)]
# More than 128 (image, tile) items: the dW reduction takes two passes.
MANY_IMAGES = [(130, 1, 1), (150, 3, 5), (200, 7, 2)]


def tiled_cases():
    rng, cases = random.Random(3), []
    for n, h, w in TILED:
        for stride in (1, 2):
            kernels = rng.sample(KERNELS, 3)
            budget = 4 * sum(c * k * k for c, k in zip([2, 3, 1], kernels)) if stride == 2 else 0  # one dW row
            cases.append(harness.Case(n, h, w, [2, 3, 1], kernels, stride, random_padding(rng, kernels),
                                      seed=len(cases), budget=budget))
    for n, h, w in TINY:
        for stride in (1, 2):
            cases.append(harness.Case(n, h, w, [2, 1], [11, 9], stride, rng.choice(['same', 'symmetric']),
                                      seed=100 + len(cases)))
    for n, h, w in MANY_IMAGES:
        cases.append(harness.Case(n, h, w, [1, 2], [3, 5], 2, 'same', seed=200 + len(cases)))
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


def test_emulation_follows_cuda_rules(emulated):
    """__shfl_down_sync: lane t of a width-w segment reads lane t + delta while that stays in its segment, else
    keeps its own value (CUDA's rule); a barrier only part of a CTA reaches, a shuffle a lane skips and a
    width that is no power of two are errors, not silent results."""
    for width in (1, 2, 4, 8, 16, 32):
        for delta in range(width + 1):
            expected = [t + delta if t % width + delta < width else t for t in range(64)]
            assert emulated.selftest(0, delta, width) == expected, (width, delta)
    with pytest.raises(RuntimeError, match='divergent barrier'):
        emulated.selftest(1)
    with pytest.raises(RuntimeError, match='deadlocked'):
        emulated.selftest(2)
    with pytest.raises(RuntimeError, match='not a power of two'):
        emulated.selftest(0, 1, 3)


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


def huge_tensor(shape, dtype=torch.float32) -> torch.Tensor:
    """A tensor in memory that is backed lazily: a 30 GB tensor costs only the pages that are written."""
    count = math.prod(shape)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, 'MAP_NORESERVE', 0x4000)
    return torch.frombuffer(mmap.mmap(-1, count * dtype.itemsize, flags=flags), dtype=dtype, count=count).view(shape)


def decode_cta(plan: dict, n: int, block: int):
    """(launch-order group, first channel, channels, chunk, [(n, oy0, ox0, vh, vw) items]) of a CTA, decoded
    from the plan's tiling independently of the kernels' own decoding."""
    (tile_h, tile_w), (tiles_y, tiles_x) = plan['tile'], plan['tiles']
    per, cb = plan['items_per_cta'], plan['channels_per_cta']
    items = n * tiles_y * tiles_x
    chunks = -(-items // per)
    g = max(i for i, grp in enumerate(plan['groups']) if grp['first_cta'] <= block)
    grp = plan['groups'][g]
    local = block - grp['first_cta']
    chunk, c0 = local % chunks, grp['c_begin'] + local // chunks * cb
    nc = min(cb, grp['c_begin'] + grp['channels'] - c0)
    work = []
    for t in range(chunk * per, min(chunk * per + per, items)):
        image, ty, tx = t // (tiles_y * tiles_x), t // tiles_x % tiles_y, t % tiles_x
        oy0, ox0 = ty * tile_h, tx * tile_w
        work.append((image, oy0, ox0, min(tile_h, plan['h_out'] - oy0), min(tile_w, plan['w_out'] - ox0)))
    return grp, c0, nc, chunk, work


def plane_reference(x, dy, weight, pads, stride, image, c0, nc, output_mask):
    """float64 y, dX and dW of the planes [image, c0:c0 + nc], the dW from dy * output_mask only."""
    (top, left), k = pads, weight.shape[-1]
    h, w, h_out, w_out = *x.shape[2:], *dy.shape[2:]
    xi = x[image:image + 1, c0:c0 + nc].double().requires_grad_(True)
    wt = weight.double().requires_grad_(True)
    padded = F.pad(xi, (left, (w_out - 1) * stride + k - w - left, top, (h_out - 1) * stride + k - h - top))
    y = F.conv2d(padded, wt, stride=stride, groups=nc)
    grad = dy[image:image + 1, c0:c0 + nc].double()
    dx, = torch.autograd.grad(y, xi, grad, retain_graph=True)
    dw, = torch.autograd.grad(y, wt, grad * output_mask)
    return y[0].detach(), dx[0], dw


@pytest.mark.parametrize('stride', [1, 2])
def test_ctas_of_a_huge_launch(emulated, stride):
    """Chosen CTAs of N=256, C=1152, 160x160, k 3..11 (tensors of 7.5e9 elements, offsets beyond 2^32), run
    alone on lazily backed memory: their outputs, dX and partial dW rows match float64; the rest stays NaN."""
    shape, kernels = (256, 1152, 160, 160), [3, 5, 7, 9, 11]
    (n, c, h, w), channels = shape, split_channels(1152, 5)
    pads = harness.Case(n, h, w, channels, kernels, stride, 'same').pads()
    h_out, w_out = (h - 1) // stride + 1, (w - 1) // stride + 1
    plans = emulated.describe(torch.empty(shape, device='meta'), channels, kernels, pads, stride)
    gen = torch.Generator().manual_seed(stride)
    weights = [torch.randn(cg, 1, k, k, generator=gen) / k for cg, k in zip(channels, kernels)]
    w_packed = torch.cat([wt.reshape(-1) for wt in weights])
    offsets = [0] + list(itertools.accumulate(cg * k * k for cg, k in zip(channels, kernels)))
    x, dy = huge_tensor(shape), huge_tensor((n, c, h_out, w_out))
    for name in ('forward', 'backward'):
        plan = dict(plans[name], h_out=h_out, w_out=w_out)
        ctas = plan['kernels'][f'mixconv_{name}_kernel']['ctas']
        blocks = [0, ctas // 2, ctas - 1] + [grp['first_cta'] - 1 for grp in plan['groups'][1:]]
        decoded = [decode_cta(plan, n, b) for b in blocks]
        assert any(img >= 146 for *_, work in decoded for img, *_ in work)  # element offsets beyond 2^32
        out = huge_tensor(x.shape if name == 'backward' else dy.shape)
        written = {}  # (image, c0, nc) -> where the chosen CTAs write
        for grp, c0, nc, _, work in decoded:
            for image in sorted({item[0] for item in work}):
                x[image, c0:c0 + nc] = torch.randn(nc, h, w, generator=gen)
                dy[image, c0:c0 + nc] = torch.randn(nc, h_out, w_out, generator=gen)
                out[image, c0:c0 + nc] = float('nan')
                written[image, c0, nc] = torch.zeros(nc, *out.shape[2:], dtype=torch.bool)
        if name == 'forward':
            emulated.forward(x, w_packed, channels, kernels, pads, stride, out, 0, blocks)
        else:  # dW asked for (a placeholder tensor: only the first launch runs, its partial rows are checked)
            workspace = emulated.backward(dy, x, w_packed, channels, kernels, pads, stride, out, torch.empty(1), 0,
                                          blocks)
            partial = workspace[:plan['partial_rows'] * offsets[-1]].view(plan['partial_rows'], -1)
        for grp, c0, nc, chunk, work in decoded:
            src, k = grp['source'], grp['k']
            local = slice(c0 - grp['c_begin'], c0 - grp['c_begin'] + nc)
            dw = 0
            for image in sorted({item[0] for item in work}):
                outputs = torch.zeros(nc, h_out, w_out, dtype=torch.bool)  # the item tiles of this image
                for _, oy0, ox0, vh, vw in (item for item in work if item[0] == image):
                    outputs[:, oy0:oy0 + vh, ox0:ox0 + vw] = True
                y_ref, dx_ref, dw_ref = plane_reference(x, dy, weights[src][local], pads[2 * src:2 * src + 2], stride,
                                                        image, c0, nc, outputs)
                owned = outputs.repeat_interleave(stride, 1).repeat_interleave(stride, 2)[:, :h, :w]
                mine, ref = (outputs, y_ref) if name == 'forward' else (owned, dx_ref)
                assert not harness.compare(f'{name} CTA', out[image, c0:c0 + nc][mine], ref[mine], torch.float32)
                written[image, c0, nc] |= mine
                dw = dw + dw_ref
            if name == 'backward':
                begin = offsets[src] + local.start * k * k
                assert not harness.compare('partial dW', partial[chunk, begin:begin + nc * k * k], dw.reshape(-1),
                                           torch.float32)
        for (image, c0, nc), mine in written.items():  # nothing else in these planes was written
            assert out[image, c0:c0 + nc][~mine].isnan().all()


def forward_with_misaligned_input(ops, case: harness.Case, dtype) -> list[str]:
    """The forward of a case whose input starts one element past an alignment boundary (a view with a storage
    offset), so that 2-byte types take the packed loads' other alignment; what differs from float64."""
    x, weights, grad = case.tensors(dtype)
    x_view = torch.empty(x.numel() + 1, dtype=dtype)[1:].view(x.shape)
    x_view.copy_(x.to(dtype))
    w_packed = torch.cat([w.reshape(-1) for w in weights]).to(dtype)
    y = torch.full(grad.shape, float('nan'), dtype=dtype)
    ops.forward(x_view, w_packed, list(case.channels), list(case.kernels), case.pads(), case.stride, y)
    return harness.compare('y', y, harness.reference(case, x, weights, grad)[0], dtype)


def test_undefined_behaviour_sanitizer():
    """The huge launch and a sample of the cases (float32), and 2-byte types with aligned and misaligned inputs
    (their packed 32-bit loads), with the kernels built under GCC's UBSan: no signed overflow, misaligned or
    out-of-bounds access. A report aborts the child process; its output is shown."""
    script = f'''
import sys, torch
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
import test_cuda_emulation as t
from cuda_emulation import harness
torch.set_num_threads(1)
ops = harness.build(ubsan=True)
t.test_ctas_of_a_huge_launch(ops, 2)
cases = t.kernel_sweep()[::3] + t.random_groups(12, 13) + t.tiled_cases()
problems = [p for i, case in enumerate(cases) for p in harness.mismatches(ops, case, torch.float32, i % 3)]
wide = [harness.Case(2, 16, 16, [3, 2], [5, 11], 1, 'same', seed=3),  # strips of 8 (w_out 16)
        harness.Case(1, 20, 32, [2, 3], [7, 3], 2, 'symmetric', seed=4)]
for dtype in (torch.bfloat16, torch.float16):
    for i, case in enumerate(t.kernel_sweep()[::8] + wide):
        problems += harness.mismatches(ops, case, dtype, i % 3) + t.forward_with_misaligned_input(ops, case, dtype)
assert not problems, problems[:5]
print('clean')
'''
    child = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=900)
    assert child.returncode == 0 and 'clean' in child.stdout, child.stderr[-3000:]
    assert 'runtime error' not in child.stderr, child.stderr[-3000:]
