"""--resume continues the run: the learning-rate schedule, the losses and the message hub go on as if the run had
never stopped."""
import json

import torch

from conftest import FAST, SHAPES_CONFIG, run_tool

ITERS = 4
SETTINGS = [*FAST, f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
            'default_hooks.checkpoint.interval=2', 'default_hooks.checkpoint.max_keep_ckpts=-1',
            'default_hooks.checkpoint.save_best=None']


def per_iteration(work_dir, key):
    values = {}
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if key in record and 'iter' in record:
                values[record['iter']] = record[key]
    return values


def plain_hub(path, *work_dirs):
    """The message hub of a checkpoint, work dirs written as WORK, timings left out."""
    hub = torch.load(path, weights_only=True)['message_hub']
    info = {k: str(v) for k, v in hub['runtime_info'].items()}
    for work_dir in work_dirs:
        info = {k: v.replace(str(work_dir), 'WORK') for k, v in info.items()}
    scalars = {k: v['log_history'] for k, v in hub['log_scalars'].items() if 'time' not in k}
    return info, scalars


def test_resume_continues_schedule_losses_and_message_hub(shapes_root, tmp_path):
    common = ['--cfg-options', f'data_root={shapes_root}/', *SETTINGS]
    reference, resumed = tmp_path / 'reference', tmp_path / 'resumed'
    run_tool('tools/train.py', SHAPES_CONFIG, '--work-dir', reference, *common)
    run_tool('tools/train.py', SHAPES_CONFIG, '--work-dir', resumed, '--resume', reference / 'iter_2.pth', *common)
    lrs, resumed_lrs = per_iteration(reference, 'lr'), per_iteration(resumed, 'lr')
    assert sorted(resumed_lrs) == [3, 4] and len(set(lrs.values())) == ITERS, (lrs, resumed_lrs)
    assert resumed_lrs == {i: lrs[i] for i in (3, 4)}
    losses = per_iteration(reference, 'loss')
    assert per_iteration(resumed, 'loss') == {i: losses[i] for i in (3, 4)}
    hubs = [plain_hub(work_dir / f'iter_{ITERS}.pth', reference, resumed) for work_dir in (reference, resumed)]
    assert hubs[0] == hubs[1]
