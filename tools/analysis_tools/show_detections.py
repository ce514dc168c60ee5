"""Draw a detector's predictions on a few validation images and tile them into one PNG.

Usage:
    python tools/analysis_tools/show_detections.py CONFIG CHECKPOINT [--out detections.png] [--num 8]
                                             [--score-thr 0.3] [--cfg-options k=v ...]
"""
import argparse
import json
from pathlib import Path

import mmcv
import numpy as np
from mmdet.apis import inference_detector, init_detector
from mmdet.registry import VISUALIZERS
from mmengine.config import Config

from mixdet.engine.cfg_options import CheckedDictAction
from mixdet.engine.checkpoint_fit import load_checkpoint_strictly
from mixdet.engine.config_setup import apply_cfg_options
from mixdet.engine.safe_checkpoint import CheckpointError


def parse_args():
    parser = argparse.ArgumentParser(description='Tile predictions on validation images into a PNG')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', default='detections.png')
    parser.add_argument('--num', type=int, default=8, help='number of validation images')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--cfg-options', nargs='+', action=CheckedDictAction)
    return parser.parse_args()


def validation_images(cfg: Config, num: int) -> list[str]:
    """Paths of the first ``num`` images of the config's validation annotation file."""
    dataset = cfg.val_dataloader.dataset
    images = json.loads((Path(dataset.data_root) / dataset.ann_file).read_text())['images'][:num]
    return [str(Path(dataset.data_root) / dataset.data_prefix['img'] / image['file_name']) for image in images]


def tile(images: list[np.ndarray], columns: int = 4) -> np.ndarray:
    """Tile equally sized images into full rows of ``columns`` (fewer when there are fewer images)."""
    columns = min(columns, len(images))
    rows = len(images) // columns
    return np.vstack([np.hstack(images[r * columns:(r + 1) * columns]) for r in range(rows)])


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    apply_cfg_options(cfg, args.cfg_options)
    model = init_detector(cfg, None, device='cpu')
    try:
        checkpoint = load_checkpoint_strictly(model, args.checkpoint)
    except CheckpointError as error:
        raise SystemExit(str(error)) from error
    model.dataset_meta = checkpoint.get('meta', {}).get('dataset_meta', model.dataset_meta)
    visualizer = VISUALIZERS.build(dict(type='DetLocalVisualizer', name='show_detections'))
    visualizer.dataset_meta = model.dataset_meta
    tiles = []
    for path in validation_images(cfg, args.num):
        image = mmcv.imread(path, channel_order='rgb')
        visualizer.add_datasample(Path(path).name, image, inference_detector(model, path), draw_gt=False,
                                  pred_score_thr=args.score_thr, show=False)
        tiles.append(visualizer.get_image())
    mmcv.imwrite(tile(tiles)[..., ::-1], args.out)
    print(f'{len(tiles)} images with predictions (score >= {args.score_thr}) -> {args.out}')


if __name__ == '__main__':
    main()
