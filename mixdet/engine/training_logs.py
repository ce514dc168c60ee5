"""Read the scalars mmengine's LocalVisBackend writes (``<work_dir>/<timestamp>/vis_data/scalars.json``)."""
from __future__ import annotations

import json
from pathlib import Path


def find_scalar_files(work_dir: str | Path) -> list[Path]:
    """Every run's scalars.json under ``work_dir``, oldest first; FileNotFoundError naming the dir when none."""
    files = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}: is it an mmengine work dir?')
    return files


def read_curves(work_dir: str | Path) -> tuple[list[tuple[int, float]], list[tuple[int, float]], str]:
    """(iteration, training loss), (step, validation bbox mAP) over all runs in ``work_dir``, and the unit
    of the mAP steps: ``'epoch'`` for an epoch-based loop (its training records carry an epoch), else
    ``'iteration'``.

    Later runs (a resumed training) override earlier points at the same step.
    """
    loss, mAP = {}, {}
    by_epoch = False
    for path in find_scalar_files(work_dir):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if 'loss' in record:
                loss[record['step']] = record['loss']
                by_epoch = by_epoch or 'epoch' in record
            if 'coco/bbox_mAP' in record:
                mAP[record['step']] = record['coco/bbox_mAP']
    return sorted(loss.items()), sorted(mAP.items()), 'epoch' if by_epoch else 'iteration'
