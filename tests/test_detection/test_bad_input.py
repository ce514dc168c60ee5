"""Bad dataset input gives an error naming the file, or a counted skip where training can go on."""
import json
import logging
import random
import shutil

import cv2
import pytest
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mixdet.datasets import CheckedCocoDataset, UnreadableImageError, make_shapes_dataset

init_default_scope('mmdet')
CLASSES = ('circle', 'rectangle', 'triangle', 'star', 'cross', 'ring')


@pytest.fixture
def shapes(tmp_path):
    make_shapes_dataset(tmp_path, num_train=4, num_val=0, seed=3, image_size=96)
    return tmp_path


@pytest.fixture
def warnings_logged():
    """Messages of warnings logged through mmengine's current logger during the test."""
    records = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def dataset(root, test_mode=False, pipeline=(), ann='annotations/instances_train.json'):
    return CheckedCocoDataset(data_root=str(root), ann_file=ann, data_prefix=dict(img='train/'),
                              metainfo=dict(classes=CLASSES), test_mode=test_mode, pipeline=list(pipeline),
                              filter_cfg=dict(filter_empty_gt=True, min_size=1))


def instance_count(data):
    return sum(len(data.get_data_info(i)['instances']) for i in range(len(data)))


def edit_annotations(root, edit):
    path = root / 'annotations/instances_train.json'
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))


def test_missing_annotation_file_is_named(shapes):
    with pytest.raises(FileNotFoundError, match='annotation file not found: .*instances_nope.json'):
        dataset(shapes, ann='annotations/instances_nope.json')


def test_malformed_annotation_file_is_named(shapes):
    (shapes / 'annotations/instances_train.json').write_text('{"images": [')
    with pytest.raises(ValueError, match='instances_train.json is not valid JSON'):
        dataset(shapes)
    (shapes / 'annotations/instances_train.json').write_text('{"images": []}')
    with pytest.raises(ValueError, match=r"not COCO instances format: missing \['annotations', 'categories'\]"):
        dataset(shapes)


def test_unusable_boxes_are_skipped_and_counted(shapes, warnings_logged):
    def break_boxes(content):
        content['annotations'][0]['bbox'] = [10, 10, 0, 5]  # zero width
        content['annotations'][1]['bbox'] = [500, 500, 10, 10]  # outside the 96x96 image
        content['annotations'][2]['bbox'] = [10, 10, float('inf'), 5]  # infinite width
        content['annotations'][3]['category_id'] = 99  # no such category
        content['annotations'][4]['category_id'] = 0
    before = instance_count(dataset(shapes))
    edit_annotations(shapes, break_boxes)
    after = instance_count(dataset(shapes))
    assert after == before - 5
    assert any('skipped 3 boxes with zero area, outside their image or with a non-finite coordinate' in m
               for m in warnings_logged)
    assert any("skipped 2 annotations whose category_id is not among the file's categories (ids [0, 99])" in m
               for m in warnings_logged)


def test_images_without_annotations_are_dropped_and_counted(shapes, warnings_logged):
    def drop_first_image_annotations(content):
        content['annotations'] = [a for a in content['annotations'] if a['image_id'] != 1]
    edit_annotations(shapes, drop_first_image_annotations)
    assert len(dataset(shapes)) == 3
    assert any('dropped 1 of 4 images without usable annotations' in m for m in warnings_logged)
    assert len(dataset(shapes, test_mode=True)) == 4  # evaluation keeps every image


def test_no_usable_image_left_is_a_clear_error(shapes):
    edit_annotations(shapes, lambda content: content.update(annotations=[]))
    with pytest.raises(ValueError, match='no image of .*instances_train.json is left after filtering'):
        dataset(shapes)


def test_missing_image_files_skip_in_training_and_fail_in_testing(shapes, warnings_logged):
    (shapes / 'train/000002.jpg').unlink()
    assert len(dataset(shapes)) == 3
    assert any('skipped 1 images whose files are missing, e.g. ' in m and '000002.jpg' in m for m in warnings_logged)
    with pytest.raises(FileNotFoundError, match='1 images listed in .* are missing, e.g. .*000002.jpg'):
        dataset(shapes, test_mode=True)


def corrupt_images(root):
    """Three of the four training images made undecodable: random bytes, a JSON file, a cut-off PNG."""
    (root / 'train/000002.jpg').write_bytes(bytes(random.Random(0).randrange(256) for _ in range(2000)))
    shutil.copy(root / 'annotations/instances_train.json', root / 'train/000003.jpg')
    png = cv2.imencode('.png', cv2.imread(str(root / 'train/000004.jpg')))[1].tobytes()
    (root / 'train/000004.jpg').write_bytes(png[:len(png) // 3])
    return [str(root / f'train/00000{i}.jpg') for i in (2, 3, 4)]


def test_corrupt_images_are_skipped_and_counted_when_training(shapes, warnings_logged):
    bad = corrupt_images(shapes)
    data = dataset(shapes, pipeline=[dict(type='LoadImageFromFile')])
    for i in range(len(data)):
        assert data[i]['img_path'] == str(shapes / 'train/000001.jpg')  # the only readable one, drawn instead
    assert data.unreadable_images == set(bad)
    skipped = [m for m in warnings_logged if 'cannot be decoded' in m]
    assert len(skipped) == 3 and all(any(path in m for m in skipped) for path in bad)


def test_corrupt_image_in_evaluation_is_an_error_naming_it(shapes):
    bad = corrupt_images(shapes)
    data = dataset(shapes, test_mode=True, pipeline=[dict(type='LoadImageFromFile')])
    with pytest.raises(UnreadableImageError, match=f'cannot decode image {bad[1]}'):
        data[2]
