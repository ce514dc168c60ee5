"""The synthetic shapes dataset: determinism, COCO format, box quality, layouts and argument checks."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mixdet.datasets.shapes import (COCO_CATEGORIES, MAX_COVERED, SHAPE_CLASSES, SHAPE_TO_COCO, image_rng,
                                    make_shapes_dataset, render_image)

from conftest import REPO

IMAGE_SIZE = 160


@pytest.fixture(scope='module')
def shapes_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp('shapes')
    make_shapes_dataset(out, num_train=40, num_val=8, seed=3, image_size=IMAGE_SIZE)
    return out


@pytest.fixture(scope='module')
def coco_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp('coco')
    make_shapes_dataset(out, num_train=6, num_val=4, seed=3, coco_layout=True, image_size=IMAGE_SIZE)
    return out


def load(path):
    return json.loads(Path(path).read_text())


def files_of(folder):
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob('*')) if path.is_file()}


def test_same_seed_gives_identical_files(tmp_path):
    for name in ('a', 'b'):
        make_shapes_dataset(tmp_path / name, num_train=5, num_val=2, seed=11, image_size=IMAGE_SIZE)
    first, second = files_of(tmp_path / 'a'), files_of(tmp_path / 'b')
    assert len(first) == 5 + 2 + 2
    assert first == second


def test_other_seed_gives_other_data(tmp_path):
    for seed in (0, 1):
        make_shapes_dataset(tmp_path / str(seed), num_train=3, num_val=0, seed=seed, image_size=IMAGE_SIZE)
    assert files_of(tmp_path / '0') != files_of(tmp_path / '1')
    ann = 'annotations/instances_train.json'
    assert load(tmp_path / '0' / ann)['annotations'] != load(tmp_path / '1' / ann)['annotations']


def test_default_layout_and_categories(shapes_dir):
    for split, count in (('train', 40), ('val', 8)):
        coco = load(shapes_dir / f'annotations/instances_{split}.json')
        assert len(coco['images']) == count
        assert sorted(p.name for p in (shapes_dir / split).iterdir()) == [im['file_name'] for im in coco['images']]
        assert coco['categories'] == [dict(id=i + 1, name=name) for i, name in enumerate(SHAPE_CLASSES)]
        assert {a['category_id'] for a in coco['annotations']} <= set(range(1, len(SHAPE_CLASSES) + 1))


def test_pycocotools_loads_the_annotations(shapes_dir, coco_dir):
    from pycocotools.coco import COCO

    api = COCO(str(shapes_dir / 'annotations/instances_train.json'))
    assert len(api.getImgIds()) == 40
    assert len(api.getAnnIds()) >= 40
    api = COCO(str(coco_dir / 'annotations/instances_val2017.json'))
    assert len(api.getCatIds()) == 80


def test_images_decode_at_the_right_size(shapes_dir):
    coco = load(shapes_dir / 'annotations/instances_val.json')
    for entry in coco['images']:
        image = cv2.imread(str(shapes_dir / 'val' / entry['file_name']))
        assert image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) == (entry['height'], entry['width'], 3)


def test_annotations_are_well_formed(shapes_dir):
    coco = load(shapes_dir / 'annotations/instances_train.json')
    ids = [a['id'] for a in coco['annotations']]
    assert ids == list(range(1, len(ids) + 1))
    image_ids = {im['id'] for im in coco['images']}
    objects_per_image = np.bincount([a['image_id'] for a in coco['annotations']], minlength=len(image_ids) + 1)
    assert objects_per_image[1:].min() >= 1 and objects_per_image.max() <= 6
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        assert ann['image_id'] in image_ids and ann['iscrowd'] == 0
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= IMAGE_SIZE and y + h <= IMAGE_SIZE
        assert 0 < ann['area'] <= w * h


def test_sizes_include_small_objects_but_most_are_bigger(shapes_dir):
    boxes = np.array([a['bbox'] for a in load(shapes_dir / 'annotations/instances_train.json')['annotations']])
    longest = boxes[:, 2:].max(axis=1)
    assert (longest <= IMAGE_SIZE / 12 + 2).any()
    assert (longest >= IMAGE_SIZE / 4).any()
    assert np.median(longest) > IMAGE_SIZE / 8


def rendered_objects(count=30):
    for index in range(count):
        yield from render_image(image_rng(5, 'train', index), IMAGE_SIZE)[1]


def test_boxes_are_tight_around_the_full_shape_mask():
    for obj in rendered_objects():
        x, y, w, h = (int(v) for v in obj['bbox'])
        inside = np.zeros_like(obj['mask'])
        inside[y:y + h, x:x + w] = True
        box_part = obj['mask'][y:y + h, x:x + w]
        assert not (obj['mask'] & ~inside).any()
        assert box_part[0].any() and box_part[-1].any() and box_part[:, 0].any() and box_part[:, -1].any()


def test_occluded_objects_are_kept_only_while_mostly_visible():
    visible_share = np.array([obj['area'] / obj['mask'].sum() for obj in rendered_objects()])
    assert visible_share.min() >= 1 - MAX_COVERED
    assert (visible_share < 1).any()


def test_shapes_are_painted_where_their_masks_are():
    image, objects = render_image(image_rng(0, 'val', 2), IMAGE_SIZE)
    top = objects[-1]['mask']  # drawn last, so fully visible
    ring = cv2.dilate(top.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~top
    top_colour = np.median(image[top], axis=0)
    assert np.abs(image[top] - top_colour).max(axis=1).mean() < np.abs(image[ring] - top_colour).max(axis=1).mean()


def test_coco_layout_uses_cocos_80_categories(coco_dir):
    assert len(COCO_CATEGORIES) == 80 and min(COCO_CATEGORIES) == 1 and max(COCO_CATEGORIES) == 90
    assert sorted(set(range(1, 91)) - set(COCO_CATEGORIES)) == [12, 26, 29, 30, 45, 66, 68, 69, 71, 83]
    shape_ids = {cat_id for cat_id, name in COCO_CATEGORIES.items() if name in SHAPE_TO_COCO.values()}
    assert len(shape_ids) == len(SHAPE_CLASSES)
    for split, count in (('train2017', 6), ('val2017', 4)):
        coco = load(coco_dir / f'annotations/instances_{split}.json')
        assert coco['categories'] == [dict(id=i, name=name) for i, name in COCO_CATEGORIES.items()]
        assert {a['category_id'] for a in coco['annotations']} <= shape_ids
        names = [im['file_name'] for im in coco['images']]
        assert names == [f'{i:012d}.jpg' for i in range(1, count + 1)]
        assert sorted(p.name for p in (coco_dir / split).iterdir()) == names


def test_coco_names_match_mmdet_coco_dataset():
    from mmdet.datasets import CocoDataset

    assert tuple(COCO_CATEGORIES.values()) == CocoDataset.METAINFO['classes']


@pytest.mark.parametrize('kwargs, named', [
    (dict(num_train=-1), 'num_train'),
    (dict(num_val=-5), 'num_val'),
    (dict(num_train=2.5), 'num_train'),
    (dict(seed=-1), 'seed'),
    (dict(image_size=16), 'image_size'),
    (dict(image_size=192.0), 'image_size'),
    (dict(max_objects=0), 'max_objects'),
    (dict(small_fraction=1.5), 'small_fraction'),
])
def test_bad_arguments_raise(tmp_path, kwargs, named):
    with pytest.raises(ValueError, match=named):
        make_shapes_dataset(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def test_command_line_tool(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / 'tools/misc/make_shapes_dataset.py'), str(tmp_path),
                             '--num-train', '2', '--num-val', '1', '--seed', '4', '--coco-layout'],
                            capture_output=True, text=True, check=True, cwd=REPO, timeout=300)
    assert 'train: 2 images' in result.stdout and 'val: 1 images' in result.stdout
    assert len(list((tmp_path / 'train2017').iterdir())) == 2
    assert (tmp_path / 'annotations/instances_val2017.json').is_file()


@pytest.mark.parametrize('layout', ['shapes', 'coco'])
def test_each_annotation_names_the_shape_drawn_there(shapes_dir, coco_dir, layout):
    """The category an annotation names (through the file's own categories) is the shape the generator drew."""
    folder, split = (shapes_dir, 'val') if layout == 'shapes' else (coco_dir, 'val2017')
    coco = load(folder / f'annotations/instances_{split}.json')
    name_of = {c['id']: c['name'] for c in coco['categories']}
    expected_name = (lambda label: SHAPE_CLASSES[label]) if layout == 'shapes' else \
        (lambda label: SHAPE_TO_COCO[SHAPE_CLASSES[label]])
    for index, image in enumerate(coco['images']):
        _, objects = render_image(image_rng(3, 'val', index), IMAGE_SIZE)
        named = [name_of[a['category_id']] for a in coco['annotations'] if a['image_id'] == image['id']]
        assert named == [expected_name(obj['label']) for obj in objects], image['file_name']
