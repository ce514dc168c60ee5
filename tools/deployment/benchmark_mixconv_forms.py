"""Time the ONNX export forms of MixNet's layers in ONNX Runtime: the measurements behind the export rules.

    python tools/deployment/benchmark_mixconv_forms.py CONFIG [CONFIG ...] [--shape 320] [--threads 1]
                                                       [--runs 50] [--layers] [--cfg-options k=v ...]

Whole models (default): exports each config's detector end to end (freshly initialised weights: the timing
of the network does not depend on their values) with each MixConv form ('auto', 'padded', 'split') and prints
the median and mean ms of one batch-1 image in ONNX Runtime (CPU provider), the forms' runs interleaved.

``--layers``: every MixConv layer (forms 'padded' and 'split') and grouped 1x1 conv (one Conv with ``group``
or the block-diagonal dense Conv, mixdet/deploy/export_forms.py) of the backbone alone, at the shape it has in
the detector, between a 1x1 conv from 16 channels and one to 16 channels (so that its input and output live in
ONNX Runtime's blocked layout as in the model), forms interleaved; prints each form's median ms, the faster
one and the form the export rule picks.
"""
import argparse
import io
import statistics
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from mixdet.apis.bench_models import build_detector
from mixdet.deploy import export_onnx
from mixdet.deploy.export_forms import grouped_as_conv, grouped_pointwise_form
from mixdet.deploy.onnx_graph import op_types
from mixdet.deploy.ort_timing import cpu_session, time_interleaved
from mixdet.engine.cfg_options import CheckedDictAction
from mixdet.engine.config_check import ConfigError
from mixdet.layers import GroupedConv2d, MixedConv2d
from mixdet.ops.mixconv_onnx import ONNX_FORMS, layer_form, onnx_mixconv_form
from mixdet.utils.input_size import input_size

WARMUP = 5


def parse_args():
    parser = argparse.ArgumentParser(description='ONNX Runtime latency of the export forms of MixNet layers')
    parser.add_argument('configs', nargs='+', help='detector config files')
    parser.add_argument('--shape', type=int, help="square input size (default: each config's test size)")
    parser.add_argument('--threads', type=int, default=1, help='ONNX Runtime threads (default 1)')
    parser.add_argument('--runs', type=int, default=50, help='timed runs per form')
    parser.add_argument('--layers', action='store_true', help='time each layer alone instead of whole models')
    parser.add_argument('--cfg-options', nargs='+', action=CheckedDictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


class Between(nn.Module):
    """1x1 conv 16 -> C_in, ReLU, ``layer``, ReLU, 1x1 conv C_out -> 16."""

    def __init__(self, layer: nn.Module, in_channels: int, out_channels: int):
        super().__init__()
        self.before, self.layer, self.after = nn.Conv2d(16, in_channels, 1), layer, nn.Conv2d(out_channels, 16, 1)

    def forward(self, x):
        return self.after(self.layer(self.before(x).relu()).relu())


def layer_session(layer: nn.Module, in_channels: int, out_channels: int, x: torch.Tensor, threads: int,
                  form: str = 'auto') -> ort.InferenceSession:
    buffer = io.BytesIO()
    with onnx_mixconv_form(form), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        torch.onnx.export(Between(layer, in_channels, out_channels).eval(), (x,), buffer, dynamo=False,
                          opset_version=17)
    return cpu_session(buffer.getvalue(), threads)


def benchmark_layers(model: nn.Module, size: tuple[int, int], threads: int, runs: int) -> None:
    shapes = {}
    hooks = [module.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, (i[0].shape, o.shape)))
             for name, module in model.backbone.named_modules() if isinstance(module, (GroupedConv2d, MixedConv2d))]
    with torch.no_grad():
        model.backbone(torch.zeros(1, 3, *size))
    for hook in hooks:
        hook.remove()
    for name, module in model.backbone.named_modules():
        if name not in shapes:
            continue
        (_, in_channels, height, width), (_, out_channels, _, _) = shapes[name]
        x = torch.randn(1, 16, height, width)
        if isinstance(module, MixedConv2d):
            sessions = {form: layer_session(module, in_channels, out_channels, x, threads, form)
                        for form in ('padded', 'split')}
            what = f'MixConv k={",".join(map(str, module.kernel_sizes))} C={in_channels} s{module.stride}'
            rule = layer_form((height, width), module.kernel_sizes, module.stride, module.padding_rule,
                              module.dilation)
        else:
            sessions = {form: layer_session(conv, in_channels, out_channels, x, threads)
                        for form, conv in ((f, grouped_as_conv(module, f)) for f in ('grouped', 'dense'))}
            what = f'1x1 {in_channels}->{out_channels} in {len(module)} groups'
            rule = grouped_pointwise_form(module.in_splits, [conv.out_channels for conv in module])
        feeds = {form: {session.get_inputs()[0].name: x.numpy()} for form, session in sessions.items()}
        seconds = time_interleaved(sessions, feeds, runs, WARMUP)
        medians = {form: 1000 * statistics.median(values) for form, values in seconds.items()}
        timing = '  '.join(f'{form} {ms:6.3f}' for form, ms in medians.items())
        print(f'{name:20} {what:36} {height:>3}x{width:<3} {timing}  faster {min(medians, key=medians.get):7} '
              f'rule {rule}', flush=True)


def benchmark_models(model: nn.Module, name: str, size: tuple[int, int], threads: int, runs: int, tmp: Path):
    paths, convs = {}, {}
    for form in ONNX_FORMS:
        paths[form] = str(tmp / f'{form}.onnx')
        convs[form] = op_types(export_onnx(model, paths[form], size, mixconv_form=form))['Conv']
    image = np.random.default_rng(0).uniform(0, 255, (1, 3, *size)).astype(np.float32)
    sessions = {form: cpu_session(path, threads) for form, path in paths.items()}
    seconds = time_interleaved(sessions, {form: {'input': image} for form in sessions}, runs, WARMUP)
    for form, values in seconds.items():
        print(f'{name} {size[0]}x{size[1]} {form:7} {convs[form]:4d} Conv nodes: median '
              f'{1000 * statistics.median(values):7.2f} ms, mean {1000 * statistics.mean(values):7.2f} ms', flush=True)


def main():
    args = parse_args()
    print(f'ONNX Runtime {ort.__version__}, CPU provider, {args.threads} threads, batch 1, {args.runs} runs')
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            try:
                model = build_detector(config, cfg_options=args.cfg_options)
            except ConfigError as error:  # one line naming the option
                raise SystemExit(str(error)) from error
            try:
                size = input_size(model.cfg, None if args.shape is None else [args.shape], config)
            except ValueError as error:  # one line naming the shape or the config
                raise SystemExit(str(error)) from error
            if args.layers:
                print(f'{Path(config).stem} at {size[0]}x{size[1]}:')
                benchmark_layers(model, size, args.threads, args.runs)
            else:
                benchmark_models(model, Path(config).stem, size, args.threads, args.runs, Path(tmp))


if __name__ == '__main__':
    main()
