"""Plot training loss and validation bbox mAP of an mmengine work dir to a PNG.

Usage:
    python tools/analysis_tools/plot_logs.py WORK_DIR [--out curves.png]

Why not mmdet's ``analyze_logs.py plot_curve``: it plots the loss of one scalars.json (``--keys loss``), but it
puts validation metrics at epochs (every record without an ``epoch`` key counts as epoch 1), so the mAP of
mixdet's iteration-based configs (validation every ``val_interval`` iterations) stops it with
``ValueError: x and y must have same first dimension, but have shapes (1,) and (2,)`` from the second
validation on, and a single validation lands at "epoch 1". This tool reads every run of the work dir
(a resumed training too) and plots mAP at its iteration (or epoch, for epoch-based loops).
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from mixdet.engine.training_logs import read_curves  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Plot loss and mAP curves of a work dir')
    parser.add_argument('work_dir', help='work dir of tools/train.py')
    parser.add_argument('--out', help='output PNG (default: WORK_DIR/curves.png)')
    return parser.parse_args()


def main():
    args = parse_args()
    loss, mAP, map_unit = read_curves(args.work_dir)
    out = Path(args.out or Path(args.work_dir) / 'curves.png')
    fig, (ax_loss, ax_map) = plt.subplots(1, 2, figsize=(10, 4))
    if loss:
        ax_loss.plot(*zip(*loss))
    ax_loss.set(xlabel='iteration', ylabel='training loss', title='loss')
    if mAP:
        ax_map.plot(*zip(*mAP), marker='o')
    ax_map.set(xlabel=map_unit, ylabel='bbox mAP', title='validation mAP', ylim=(0, 1))
    for ax in (ax_loss, ax_map):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f'{len(loss)} loss points, {len(mAP)} mAP points -> {out}')


if __name__ == '__main__':
    main()
