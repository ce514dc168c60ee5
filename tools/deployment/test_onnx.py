"""Evaluate an exported ONNX detector with ONNX Runtime (CPU) on the config's test set, beside PyTorch.

    python tools/deployment/test_onnx.py CONFIG MODEL.onnx [--checkpoint CKPT] [--threads N]
                                         [--cfg-options k=v ...]

Runs every test image (batch 1) through ONNX Runtime and through the PyTorch model of CONFIG with the
checkpoint the model was exported from (recorded in the .onnx, or --checkpoint), evaluates both with the
config's test evaluator (pycocotools' 12 numbers, as tools/test.py prints them) and prints bbox mAP and
latency per image side by side. Latency: median and mean wall time of one image's prediction (ONNX
Runtime's ``InferenceSession.run``, PyTorch's ``model.test_step``: preprocessing, network, decoding, NMS;
not image loading), after 3 warm-up runs; ONNX Runtime's pass over the test set runs first, then PyTorch's.
"""
import argparse
import os.path as osp
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config, DictAction
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import InstanceData

from mixdet.engine.checkpoint_fit import load_checkpoint_strictly
from mixdet.engine.config_setup import apply_cfg_options
from mixdet.engine.safe_checkpoint import CheckpointError

WARMUP = 3


def parse_args():
    parser = argparse.ArgumentParser(description='Evaluate an ONNX detector with ONNX Runtime beside PyTorch')
    parser.add_argument('config', help='config file path')
    parser.add_argument('model', help='the .onnx file (tools/deployment/export_onnx.py)')
    parser.add_argument('--checkpoint', help='PyTorch checkpoint (default: the one the model was exported from)')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads(),
                        help='threads of ONNX Runtime and PyTorch alike (default: torch.get_num_threads())')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings, key=value')
    return parser.parse_args()


def exported_checkpoint(model_path: str, checkpoint: str | None) -> str:
    """--checkpoint, else the checkpoint recorded in the model's metadata; SystemExit when it is not a file."""
    if checkpoint is None:
        metadata = {p.key: p.value for p in onnx.load(model_path, load_external_data=False).metadata_props}
        checkpoint = metadata.get('mixdet.checkpoint')
    if checkpoint is None:
        raise SystemExit(f'{model_path} records no PyTorch checkpoint: pass --checkpoint')
    if not osp.isfile(checkpoint):
        raise SystemExit(f'the PyTorch checkpoint {checkpoint} is not a file: pass --checkpoint')
    return checkpoint


def ort_sample(sample: DetDataSample, dets: np.ndarray, labels: np.ndarray) -> DetDataSample:
    """One image's ONNX outputs (dets [K, 5], labels [K]) as a DetDataSample in original-image pixels,
    rescaled as mmdet's ``_bbox_post_process`` does."""
    keep = labels >= 0
    bboxes = torch.from_numpy(dets[keep, :4])
    scale_w, scale_h = sample.metainfo['scale_factor']
    result = DetDataSample(metainfo=sample.metainfo)
    result.pred_instances = InstanceData(
        bboxes=bboxes * bboxes.new_tensor([1 / scale_w, 1 / scale_h]).repeat((1, 2)),
        scores=torch.from_numpy(dets[keep, 4]), labels=torch.from_numpy(labels[keep]))
    return result


def evaluate(predict, loader, evaluator: Evaluator) -> tuple[dict, list[float]]:
    """Run ``predict`` (batch -> DetDataSamples) on every test batch after WARMUP runs on the first one.

    Returns the evaluator's metrics and the seconds of each call.
    """
    first = next(iter(loader))
    for _ in range(WARMUP):
        predict(first)
    seconds = []
    for data in loader:
        start = time.perf_counter()
        samples = predict(data)
        seconds.append(time.perf_counter() - start)
        evaluator.process(samples, data)
    return evaluator.evaluate(len(loader.dataset)), seconds


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    apply_cfg_options(cfg, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.set_num_threads(args.threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(args.model, options, providers=['CPUExecutionProvider'])
    height, width = session.get_inputs()[0].shape[2:]
    from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    try:
        load_checkpoint_strictly(model, exported_checkpoint(args.model, args.checkpoint))
    except CheckpointError as error:
        raise SystemExit(str(error)) from error
    model.eval()
    cfg.test_dataloader.batch_size = 1
    loader = Runner.build_dataloader(cfg.test_dataloader)

    def run_onnx(data):
        sample, image = data['data_samples'][0], data['inputs'][0]
        if tuple(image.shape[1:]) != (height, width):
            raise SystemExit(f'{args.model} takes {height}x{width} images but the test pipeline gives '
                             f'{image.shape[1]}x{image.shape[2]}: export at this size (--shape)')
        dets, labels = session.run(None, {'input': image[None].numpy().astype(np.float32)})
        return [ort_sample(sample, dets[0], labels[0])]

    def run_torch(data):
        with torch.no_grad():
            return model.test_step(data)

    results = {}
    for name, predict in (('ONNX Runtime', run_onnx), ('PyTorch', run_torch)):  # one after the other
        print(f'{name} on {len(loader.dataset)} test images:')
        evaluator = Evaluator(cfg.test_evaluator)
        evaluator.dataset_meta = loader.dataset.metainfo
        results[name] = evaluate(predict, loader, evaluator)
    print(f'{len(loader.dataset)} images at {height}x{width}, batch 1, {args.threads} threads '
          f'(onnxruntime {ort.__version__}, torch {torch.__version__}):')
    print(f'{"":14}{"bbox mAP":>10}{"median ms":>11}{"mean ms":>9}')
    for name, (metrics, seconds) in results.items():
        print(f'{name:14}{metrics["coco/bbox_mAP"]:>10.3f}{1000 * statistics.median(seconds):>11.1f}'
              f'{1000 * statistics.mean(seconds):>9.1f}')


if __name__ == '__main__':
    main()
