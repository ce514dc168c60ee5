"""Bad dataset input gives an error naming the file, or a counted skip where training can go on."""
import json
import logging
import shutil

import pytest
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mixdet.datasets import CheckedCocoDataset, make_shapes_dataset

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
    before = instance_count(dataset(shapes))
    edit_annotations(shapes, break_boxes)
    after = instance_count(dataset(shapes))
    assert after == before - 2
    assert any('skipped 2 boxes with zero area or outside their image' in m for m in warnings_logged)


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


def test_corrupt_image_error_names_the_file(shapes):
    shutil.copy(shapes / 'annotations/instances_train.json', shapes / 'train/000003.jpg')
    data = dataset(shapes, pipeline=[dict(type='LoadImageFromFile')])
    with pytest.raises(Exception, match='failed to load image: .*000003.jpg'):
        data[2]
