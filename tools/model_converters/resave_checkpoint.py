"""Re-save a checkpoint as plain data: tensors, containers, numbers and strings only.

    python tools/model_converters/resave_checkpoint.py IN.pth OUT.pth

Checkpoints that mmengine's Runner writes hold numpy values and ``HistoryBuffer`` objects for the log history.
mixdet reads them as they are (mmengine's objects as inert stand-ins), so this tool is only needed to hand a
checkpoint to a reader that admits tensors and plain containers alone (``torch.load(weights_only=True)`` with no
extra globals). IN.pth is read by the same data-only reader as everywhere else: a file that asks for anything
beyond that metadata is refused with every such global named, and nothing from it runs.
"""
import argparse

import torch
from mmengine.logging import HistoryBuffer

from mixdet.checkpoint import CheckpointError, read_checkpoint
from mixdet.checkpoint.message_hub import message_hub_state, message_hub_to_plain, to_plain


def parse_args():
    parser = argparse.ArgumentParser(description='Re-save a checkpoint as plain data')
    parser.add_argument('src', help='checkpoint to convert (read as data)')
    parser.add_argument('dst', help='output path')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        checkpoint = read_checkpoint(args.src)
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = message_hub_to_plain(
                message_hub_state(checkpoint['message_hub'], args.src, HistoryBuffer))
    except CheckpointError as error:
        raise SystemExit(str(error)) from error
    checkpoint = {key: value if key in ('state_dict', 'optimizer') else to_plain(value)
                  for key, value in checkpoint.items()}
    torch.save(checkpoint, args.dst)
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(args.dst)
    if unsafe:
        raise SystemExit(f'{args.dst} still holds objects that are not plain data: {unsafe}')
    print(f'{args.src} -> {args.dst}: plain data')


if __name__ == '__main__':
    main()
