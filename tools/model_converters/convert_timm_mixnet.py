"""Convert a timm MixNet checkpoint into a mixdet backbone checkpoint.

Usage:
    python tools/model_converters/convert_timm_mixnet.py SRC DST [--tf-same]

SRC: a timm ``mixnet_{s,m,l}`` or ``tf_mixnet_{s,m,l}`` checkpoint (.pth or .safetensors).
DST: a checkpoint that ``init_cfg=dict(type='Pretrained', checkpoint=DST)`` of a MixNet with
``out_indices`` containing 6 (the head) loads with no missing or unexpected keys.
Pass ``--tf-same`` for ``tf_mixnet_*`` weights (trained with TF 'same' padding and BN eps 1e-3).
"""
import argparse
from pathlib import Path

import torch

from mixdet.checkpoint import CheckpointError
from mixdet.models.backbones.mixnet_timm import backbone_settings, convert_timm_mixnet, load_timm_state_dict


def parse_args():
    parser = argparse.ArgumentParser(description='Convert timm MixNet weights to a mixdet backbone checkpoint')
    parser.add_argument('src', help='timm checkpoint (.pth or .safetensors)')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument('--tf-same', action='store_true',
                        help="weights are tf_mixnet_*: the backbone needs padding='same' and BN eps 1e-3")
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        state, arch = convert_timm_mixnet(load_timm_state_dict(args.src), source=args.src)
    except CheckpointError as error:
        raise SystemExit(str(error)) from error
    settings = backbone_settings(arch, args.tf_same)
    try:
        Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
        torch.save(dict(state_dict=state, meta=dict(source=str(args.src), backbone=repr(settings))), args.dst)
    except OSError as error:
        raise SystemExit(f'cannot write {args.dst}: {error.strerror or error}') from error
    print(f'MixNet-{arch.upper()}: wrote {len(state)} tensors to {args.dst}')
    print(f'backbone config: {settings} with init_cfg=dict(type="Pretrained", checkpoint="{args.dst}")')


if __name__ == '__main__':
    main()
