"""Draw a detector's predictions on a few validation images and tile them into one PNG.

Images of different sizes are tiled at their own size, each in a cell of the largest width and height, rows
of four. The line printed says how many predictions cleared the score threshold, and on how many images.

Usage:
    python tools/analysis_tools/show_detections.py CONFIG CHECKPOINT [--out detections.png] [--num 8]
                                             [--score-thr 0.3] [--cfg-options k=v ...]
"""
import argparse
import json
from pathlib import Path

import mmcv
import numpy as np
from mmdet.apis import inference_detector
from mmdet.registry import VISUALIZERS
from mmengine.config import Config

from mixdet.apis import init_detector
from mixdet.checkpoint import CheckpointError
from mixdet.engine.cfg_options import CheckedDictAction
from mixdet.engine.config_check import ConfigError


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
    root = Path(dataset.get('data_root') or '')
    images = json.loads((root / dataset.ann_file).read_text())['images'][:num]
    return [str(root / dataset.data_prefix['img'] / image['file_name']) for image in images]


def tile(images: list[np.ndarray], columns: int = 4, background: int = 255) -> np.ndarray:
    """Images (H_i x W_i x 3, any sizes) in rows of ``columns`` cells of the largest height and width, each at the
    top left of its cell; the last row is filled up with empty cells."""
    columns = min(columns, len(images))
    height = max(image.shape[0] for image in images)
    width = max(image.shape[1] for image in images)
    rows = -(-len(images) // columns)
    canvas = np.full((rows * height, columns * width, 3), background, dtype=np.uint8)
    for index, image in enumerate(images):
        top, left = (index // columns) * height, (index % columns) * width
        canvas[top:top + image.shape[0], left:left + image.shape[1]] = image
    return canvas


def main():
    args = parse_args()
    try:
        model = init_detector(args.config, args.checkpoint, args.cfg_options, device='cpu')
    except (CheckpointError, ConfigError) as error:  # one line naming the checkpoint or the option
        raise SystemExit(str(error)) from error
    cfg = model.cfg
    visualizer = VISUALIZERS.build(dict(type='DetLocalVisualizer', name='show_detections'))
    visualizer.dataset_meta = model.dataset_meta
    tiles, shown = [], []  # drawn images; predictions drawn on each
    for path in validation_images(cfg, args.num):
        image = mmcv.imread(path, channel_order='rgb')
        if image is None:
            raise SystemExit(f'cannot decode image {path}')
        result = inference_detector(model, path)
        visualizer.add_datasample(Path(path).name, image, result, draw_gt=False, pred_score_thr=args.score_thr,
                                  show=False)
        tiles.append(visualizer.get_image())
        shown.append(int((result.pred_instances.scores > args.score_thr).sum()))  # what the visualizer draws
    if not tiles:
        raise SystemExit(f'{args.config}: the validation annotation file lists no image')
    mmcv.imwrite(tile(tiles)[..., ::-1], args.out)
    print(f'{len(tiles)} images, {sum(shown)} predictions with score > {args.score_thr} on '
          f'{sum(n > 0 for n in shown)} of them -> {args.out}')


if __name__ == '__main__':
    main()
