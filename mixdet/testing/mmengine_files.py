"""Checkpoints as mmengine's own Runner writes them, and crafted ones that ask to run code."""
import copy
import copyreg
from pathlib import Path

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner


class Evaluates:
    """Pickles as the call ``eval(code)``."""

    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return eval, (self.code,)


class CallsSystem:
    """Pickles as the call ``os.system(command)`` (``posix.system``)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        import os
        return os.system, (self.command,)


class GetAttr:
    """Pickles as ``getattr(obj, name)``."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


class PlantedHistoryBuffer:
    """Pickles as a HistoryBuffer whose state plants ``__reduce_ex__`` so that a deep copy evaluates ``code``."""

    def __init__(self, code):
        payload = [0, 0, 0, 0, (GetAttr(GetAttr(getattr, '__self__'), 'eval'), (code,))]
        self.state = dict(max_length=10, _log_history=np.zeros(1), _count_history=np.ones(1),
                          __reduce_ex__=GetAttr(payload, '__getitem__'))

    @property
    def __class__(self):  # pickle checks that __newobj__'s class is the object's
        return HistoryBuffer

    def __reduce__(self):
        return copyreg.__newobj__, (HistoryBuffer,), self.state


def marker_code(marker: Path) -> str:
    return f"__import__('pathlib').Path({str(marker)!r}).touch()"


class _Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


def mmengine_runner_checkpoint(work_dir: Path) -> Path:
    """Two iterations of mmengine's own Runner (SGD, a step scheduler) on a toy model; its checkpoint. (Its scope is
    mmdet's: a Runner makes its scope the current one for every later registry build in the process.)"""
    runner = Runner(model=_Toy(), work_dir=str(work_dir), default_scope='mmdet',
                    train_dataloader=dict(dataset=[dict(inputs=torch.randn(2)) for _ in range(4)], batch_size=2,
                                          sampler=dict(type='DefaultSampler', shuffle=False),
                                          collate_fn=dict(type='pseudo_collate')),
                    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
                    param_scheduler=dict(type='MultiStepLR', milestones=[1], by_epoch=False),
                    train_cfg=dict(by_epoch=False, max_iters=2),
                    default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)))
    runner.train()
    return work_dir / 'iter_2.pth'


def as_mmengine_writes_it(checkpoint: dict) -> dict:
    """A mixdet checkpoint (plain message hub) turned into what mmengine's Runner would have written for it:
    HistoryBuffer objects and numpy values in the message hub."""
    result = copy.deepcopy(checkpoint)
    hub = result['message_hub']
    result['message_hub'] = dict(
        log_scalars={key: HistoryBuffer(np.array(b['log_history']), np.array(b['count_history']), b['max_length'])
                     for key, b in hub['log_scalars'].items()},
        runtime_info={key: np.int64(v) if isinstance(v, int) and not isinstance(v, bool) else v
                      for key, v in hub['runtime_info'].items()},
        resumed_keys=hub['resumed_keys'])
    return result
