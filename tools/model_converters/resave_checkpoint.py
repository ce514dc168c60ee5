"""Re-save a checkpoint that you trust as plain data, so that mixdet can read it without running code.

    python tools/model_converters/resave_checkpoint.py IN.pth OUT.pth

Checkpoints written by plain mmengine store their log history as ``HistoryBuffer`` objects and numpy
arrays. Reading those needs a full unpickler, which runs whatever code a crafted file carries, so
mixdet refuses them. This tool reads IN.pth with that full unpickler -- only run it on files from a
source you trust -- and writes OUT.pth with the same weights, optimizer and scheduler state and the log
history as lists of numbers. It then reads OUT.pth back the way mixdet does, as a check.
"""
import argparse

import torch

from mixdet.engine.safe_checkpoint import load_checkpoint_file, message_hub_to_plain, to_plain


def parse_args():
    parser = argparse.ArgumentParser(description='Re-save a trusted mmengine checkpoint as plain data')
    parser.add_argument('src', help='checkpoint to convert (read with the full unpickler: trusted files only)')
    parser.add_argument('dst', help='output path')
    return parser.parse_args()


def main():
    args = parse_args()
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=False)  # the user vouches for this file
    if not isinstance(checkpoint, dict):
        raise SystemExit(f'{args.src} holds a {type(checkpoint).__name__}, not a checkpoint dict')
    hub = checkpoint.get('message_hub')
    if isinstance(hub, dict) and 'log_scalars' in hub and 'format' not in hub:
        checkpoint['message_hub'] = message_hub_to_plain(hub)
    checkpoint = {key: value if key in ('state_dict', 'optimizer') else to_plain(value)
                  for key, value in checkpoint.items()}
    torch.save(checkpoint, args.dst)
    load_checkpoint_file(args.dst)
    print(f'{args.src} -> {args.dst}: plain data, readable by mixdet')


if __name__ == '__main__':
    main()
