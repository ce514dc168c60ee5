"""Write the synthetic shapes detection dataset (JPEG images + COCO instances JSON).

Usage:
    python tools/misc/make_shapes_dataset.py OUT [--num-train N] [--num-val N] [--seed S] [--coco-layout]
                                            [--image-size S]

The same arguments always write byte-identical files. ``--coco-layout`` writes COCO 2017's folder
layout with COCO's 80 categories, so COCO configs run on it unchanged (see mixdet/datasets/shapes.py).
"""
import argparse

from mixdet.datasets.shapes import SHAPE_CLASSES, SHAPE_TO_COCO, make_shapes_dataset


def parse_args():
    parser = argparse.ArgumentParser(description='Write the synthetic shapes detection dataset')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--num-train', type=int, default=5000, help='number of training images')
    parser.add_argument('--num-val', type=int, default=200, help='number of validation images')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--coco-layout', action='store_true',
                        help='COCO 2017 layout (train2017/, val2017/) with COCO\'s 80 category ids and names')
    parser.add_argument('--image-size', type=int, default=192, help='side of the square images in pixels')
    return parser.parse_args()


def main():
    args = parse_args()
    written = make_shapes_dataset(args.out, num_train=args.num_train, num_val=args.num_val, seed=args.seed,
                                  coco_layout=args.coco_layout, image_size=args.image_size)
    for split, files in written.items():
        print(f'{split}: {files["images"]} images in {files["img_dir"]}, '
              f'{files["annotations"]} objects in {files["ann_file"]}')
    if args.coco_layout:
        print('classes: ' + ', '.join(f'{shape} -> {SHAPE_TO_COCO[shape]!r}' for shape in SHAPE_CLASSES))
    else:
        print(f'classes (category ids 1..{len(SHAPE_CLASSES)}): {", ".join(SHAPE_CLASSES)}')


if __name__ == '__main__':
    main()
