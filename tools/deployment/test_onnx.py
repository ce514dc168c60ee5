"""Evaluate exported ONNX detectors (float or INT8) with ONNX Runtime (CPU) on the config's test set, beside PyTorch.

    python tools/deployment/test_onnx.py CONFIG MODEL.onnx [MODEL.onnx ...] [--checkpoint CKPT] [--threads N]
                                         [--cfg-options k=v ...]

Runs every test image (batch 1) through each ONNX model in ONNX Runtime and through the PyTorch model of CONFIG
with the checkpoint the models were exported from (--checkpoint, else the file named in the first model's
metadata, looked up beside it; its SHA-256 must match the one every model records), evaluates each with the
config's test evaluator (pycocotools' 12 numbers, as tools/test.py prints them: the ONNX models in the order
given, then PyTorch) and prints bbox mAP and latency per image side by side. Latency: median and mean wall time
of one image's prediction (ONNX Runtime's ``InferenceSession.run``, PyTorch's ``model.test_step``:
preprocessing, network, decoding, NMS; not image loading), after 3 warm-up runs, the models' runs interleaved
image by image.
"""
import argparse
import os.path as osp
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from mmdet.structures import DetDataSample
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner
from mmengine.structures import InstanceData

from mixdet.apis import init_config, init_detector
from mixdet.checkpoint import CheckpointError
from mixdet.deploy.metadata import CHECKPOINT, CHECKPOINT_SHA256, sha256
from mixdet.deploy.onnx_file import OnnxFileError, open_detector, read_metadata
from mixdet.engine.cfg_options import CheckedDictAction
from mixdet.engine.config_check import ConfigError

WARMUP = 3
PYTORCH = 'PyTorch'


def parse_args():
    parser = argparse.ArgumentParser(description='Evaluate ONNX detectors with ONNX Runtime beside PyTorch')
    parser.add_argument('config', help='config file path')
    parser.add_argument('models', nargs='+', help='.onnx files (tools/deployment/export_onnx.py, quantize_onnx.py)')
    parser.add_argument('--checkpoint', help='PyTorch checkpoint (default: the one named in the first model)')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads(),
                        help='threads of ONNX Runtime and PyTorch alike (default: torch.get_num_threads())')
    parser.add_argument('--cfg-options', nargs='+', action=CheckedDictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def exported_checkpoint(model_paths: list[str], checkpoint: str | None) -> str:
    """--checkpoint, else the file named in the first model's metadata beside that model; SystemExit when it is not
    a file or its SHA-256 differs from one a model records."""
    metadata = [read_metadata(path) for path in model_paths]
    if checkpoint is None:
        if CHECKPOINT not in metadata[0]:
            raise SystemExit(f'{model_paths[0]} names no PyTorch checkpoint: pass --checkpoint')
        checkpoint = osp.join(osp.dirname(model_paths[0]), metadata[0][CHECKPOINT])
    if not osp.isfile(checkpoint):
        raise SystemExit(f'the PyTorch checkpoint {checkpoint} is not a file: pass --checkpoint')
    digest = sha256(checkpoint)
    for path, props in zip(model_paths, metadata):
        if props.get(CHECKPOINT_SHA256, digest) != digest:
            raise SystemExit(f'{path} was exported from another checkpoint than {checkpoint} (SHA-256 differs)')
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


def evaluate(predictors: dict, loader, evaluator_cfg) -> dict[str, tuple[dict, list[float]]]:
    """Run every predictor (batch -> DetDataSamples) on each test batch in turn, after WARMUP runs on the first.

    Returns per predictor its evaluator's metrics and the seconds of each call.
    """
    first = next(iter(loader))
    for predict in predictors.values():
        for _ in range(WARMUP):
            predict(first)
    evaluators, seconds = {}, {name: [] for name in predictors}
    for name in predictors:
        evaluators[name] = Evaluator(evaluator_cfg)
        evaluators[name].dataset_meta = loader.dataset.metainfo
    for data in loader:
        for name, predict in predictors.items():
            start = time.perf_counter()
            samples = predict(data)
            seconds[name].append(time.perf_counter() - start)
            evaluators[name].process(samples, data)
    results = {}
    for name in predictors:
        print(f'{name} on {len(loader.dataset)} test images:')
        results[name] = evaluators[name].evaluate(len(loader.dataset)), seconds[name]
    return results


def onnx_predictor(path: str, threads: int):
    """batch (size 1) -> [DetDataSample] of the ONNX model at ``path``; SystemExit when the test size differs."""
    session = open_detector(path, threads)
    height, width = session.get_inputs()[0].shape[2:]

    def predict(data):
        sample, image = data['data_samples'][0], data['inputs'][0]
        if tuple(image.shape[1:]) != (height, width):
            raise SystemExit(f'{path} takes {height}x{width} images but the test pipeline gives '
                             f'{image.shape[1]}x{image.shape[2]}: export at this size (--shape)')
        dets, labels = session.run(None, {'input': image[None].numpy().astype(np.float32)})
        return [ort_sample(sample, dets[0], labels[0])]
    return predict


def main():
    args = parse_args()
    names = [Path(path).name for path in args.models]
    if len(set(names)) != len(names) or PYTORCH in names:
        raise SystemExit(f'give models with distinct file names (other than {PYTORCH!r}), got {names}')
    try:
        cfg = init_config(args.config, args.cfg_options)
        torch.set_num_threads(args.threads)
        predictors = {name: onnx_predictor(path, args.threads) for name, path in zip(names, args.models)}
        model = init_detector(cfg, exported_checkpoint(args.models, args.checkpoint))
    except (CheckpointError, ConfigError, OnnxFileError) as error:  # one line naming the file or the option
        raise SystemExit(str(error)) from error
    cfg.test_dataloader.batch_size = 1
    loader = Runner.build_dataloader(cfg.test_dataloader)

    def run_torch(data):
        with torch.no_grad():
            return model.test_step(data)

    predictors[PYTORCH] = run_torch
    results = evaluate(predictors, loader, cfg.test_evaluator)
    image = next(iter(loader))['inputs'][0]
    print(f'{len(loader.dataset)} images at {image.shape[1]}x{image.shape[2]}, batch 1, {args.threads} threads, '
          f'runs interleaved (onnxruntime {ort.__version__}, torch {torch.__version__}):')
    width = max(14, *map(len, names)) + 2
    print(f'{"":{width}}{"bbox mAP":>10}{"median ms":>11}{"mean ms":>9}')
    for name, (metrics, seconds) in results.items():
        print(f'{name:{width}}{metrics["coco/bbox_mAP"]:>10.3f}{1000 * statistics.median(seconds):>11.1f}'
              f'{1000 * statistics.mean(seconds):>9.1f}')


if __name__ == '__main__':
    main()
