"""Bad dataset input gives one line naming the file, or a counted skip in the dataset's summary where training can
go on (CheckedCocoDataset). Every case edits a 4-image generated dataset the way a real file goes wrong."""
import json
import logging
import random
import shutil

import cv2
import pytest
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mixdet.datasets import (SHAPE_CLASSES, CheckedCocoDataset, DataError, DataFileNotFoundError, ImageFileError,
                             make_shapes_dataset)

init_default_scope('mmdet')
ANNOTATIONS = 'annotations/instances_train.json'


@pytest.fixture
def shapes(tmp_path):
    make_shapes_dataset(tmp_path, num_train=4, num_val=0, seed=3, image_size=96)
    return tmp_path


@pytest.fixture
def logged():
    """``(level, message)`` of what is logged through mmengine's current logger during the test."""
    records = []
    handler = logging.Handler(level=logging.INFO)
    handler.emit = lambda record: records.append((record.levelno, record.getMessage()))
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def dataset(root, test_mode=False, pipeline=(), classes=SHAPE_CLASSES, **kwargs):
    metainfo = None if classes is None else dict(classes=classes)
    return CheckedCocoDataset(data_root=str(root), ann_file=ANNOTATIONS, data_prefix=dict(img='train/'),
                              metainfo=metainfo, test_mode=test_mode, pipeline=list(pipeline),
                              filter_cfg=dict(filter_empty_gt=True, min_size=1), **kwargs)


def summary(records):
    """The dataset's one summary line (the only line naming the annotation file and 'images,')."""
    lines = [m for _, m in records if ANNOTATIONS in m and ' images, ' in m]
    assert len(lines) == 1, lines
    return lines[0]


def instance_count(data):
    return sum(len(data.get_data_info(i)['instances']) for i in range(len(data)))


def edit_annotations(root, edit):
    path = root / ANNOTATIONS
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))


# ---------------------------------------------------------------- the annotation file

def test_missing_annotation_file_is_named(shapes):
    with pytest.raises(DataFileNotFoundError, match='annotation file not found: .*instances_nope.json'):
        CheckedCocoDataset(data_root=str(shapes), ann_file='annotations/instances_nope.json')


@pytest.mark.parametrize('text, message', [
    ('{"images": [', 'instances_train.json is not valid JSON'),
    ('\xff\xfe not text', 'instances_train.json is not valid JSON'),
    ('[]', 'not COCO instances format: not a JSON object'),
    ('{"images": []}', r"not COCO instances format: missing \['annotations', 'categories'\]"),
    ('{"images": {}, "annotations": [], "categories": []}', '"images" must be a JSON list, got dict'),
])
def test_malformed_annotation_file_is_named(shapes, text, message):
    (shapes / ANNOTATIONS).write_bytes(text.encode('latin-1'))
    with pytest.raises(DataError, match=message):
        dataset(shapes)


@pytest.mark.parametrize('section, key', [('annotations', 'bbox'), ('annotations', 'category_id'),
                                          ('annotations', 'area'), ('annotations', 'image_id'),
                                          ('annotations', 'id'), ('images', 'height'), ('images', 'file_name'),
                                          ('categories', 'name')])
def test_an_entry_without_a_key_coco_needs_is_named(shapes, section, key):
    def drop_key(content):
        for entry in content[section][1:3]:
            del entry[key]
    edit_annotations(shapes, drop_key)
    with pytest.raises(DataError, match=rf"{section}\[1\] \(id .*\) has no \['{key}'\]; 2 of \d+ {section} lack"):
        dataset(shapes)


@pytest.mark.parametrize('section, key, value, message', [
    ('annotations', 'bbox', [1, 2, 3], r'has bbox=\[1, 2, 3\]; COCO boxes are \[x, y, width, height\]'),
    ('annotations', 'bbox', '1 2 3 4', "has bbox='1 2 3 4'"),
    ('annotations', 'area', None, 'has area=None; it must be a number'),
    ('annotations', 'category_id', [1], r'has category_id=\[1\]; ids are integers'),
    ('images', 'width', 0, 'has width=0; it must be a positive number'),
    ('categories', 'name', 7, 'has name=7; it must be a string'),
])
def test_a_value_of_the_wrong_kind_is_named(shapes, section, key, value, message):
    edit_annotations(shapes, lambda content: content[section][0].update({key: value}))
    with pytest.raises(DataError, match=rf'instances_train.json: {section}\[0\] .*{message}'):
        dataset(shapes)


@pytest.mark.parametrize('section', ['images', 'annotations', 'categories'])
def test_repeated_ids_are_an_error(shapes, section):
    """pycocotools keeps the last entry of an id: an image would be lost and its boxes given to the other."""
    edit_annotations(shapes, lambda content: content[section][1].update(id=content[section][0]['id']))
    with pytest.raises(DataError, match=f'1 {section} ids occur more than once .* 2 times'):
        dataset(shapes)


# ---------------------------------------------------------------- class names against categories

def test_a_class_name_that_is_no_category_is_named_with_the_closest(shapes):
    classes = ('circle', 'Rectangle', 'triangle', 'star', 'crosss', 'ring')
    with pytest.raises(DataError, match=r"2 of 6 metainfo classes are not categories of .*instances_train.json: "
                                        r"'Rectangle' \(closest: 'rectangle'\), 'crosss' \(closest: 'cross'\)"):
        dataset(shapes, classes=classes)


def test_metainfo_forgotten_names_mmdets_default(shapes):
    with pytest.raises(DataError, match=r"80 of 80 metainfo classes \(mmdet's 80 COCO classes, the default when "
                                        r"metainfo is not set\) are not categories .* its categories are 'circle', "):
        dataset(shapes, classes=None)


@pytest.mark.parametrize('classes, message', [
    ('circle', r"got the string 'circle' \(one class is written classes=\('circle',\)"),
    ((), 'metainfo classes is empty'),
    (('circle', 'ring', 'circle'), "metainfo classes name 'circle' more than once"),
    (('ring', 'circle'), r"not in the order of the categories .* write classes=\('circle', 'ring'\)"),
])
def test_malformed_class_lists_are_refused(shapes, classes, message):
    with pytest.raises(DataError, match=message):
        dataset(shapes, classes=classes)


def test_a_name_shared_by_two_categories_is_refused(shapes):
    edit_annotations(shapes, lambda content: content['categories'][5].update(name='circle'))
    with pytest.raises(DataError, match=r"category name 'circle' belongs to 2 categories \(ids \[1, 6\]\)"):
        dataset(shapes, classes=('circle', 'rectangle'))


def test_annotations_of_categories_outside_metainfo_are_counted(shapes, logged):
    full = dataset(shapes)
    labels = [x['bbox_label'] for i in range(len(full)) for x in full.get_data_info(i)['instances']]
    left_out = max(set(labels), key=labels.count)
    logged.clear()
    subset = dataset(shapes, classes=tuple(c for c in SHAPE_CLASSES if c != SHAPE_CLASSES[left_out]))
    assert instance_count(subset) == len(labels) - labels.count(left_out)
    assert (f"{labels.count(left_out)} annotations of categories not in metainfo classes ignored "
            f"('{SHAPE_CLASSES[left_out]}': {labels.count(left_out)})") in summary(logged)


# ---------------------------------------------------------------- boxes and annotations

def test_unusable_boxes_are_skipped_and_counted_by_reason(shapes, logged):
    def add_broken_annotations(content):
        changes = [dict(bbox=[10, 10, 0, 5]),  # zero width
                   dict(bbox=[120, 10, 10, 10]),  # right of the 96x96 image
                   dict(bbox=[10, 10, float('inf'), 5]),
                   dict(bbox=[0, 0, 1e30, 20]),  # overlaps the image, reaches absurdly far: mmdet keeps it
                   dict(bbox=[float('nan'), 0, 5, 5]),
                   dict(category_id=99),  # no such category
                   dict(category_id=0),
                   dict(image_id=1000)]  # no such image
        template = content['annotations'][0]
        content['annotations'] += [dict(template, id=1000 + i, **change) for i, change in enumerate(changes)]
    before = instance_count(dataset(shapes))
    logged.clear()
    edit_annotations(shapes, add_broken_annotations)
    data = dataset(shapes)
    assert instance_count(data) == before
    assert all(abs(v) < 1000 for i in range(len(data)) for x in data.get_data_info(i)['instances'] for v in x['bbox'])
    line = summary(logged)
    assert ('5 boxes skipped (2 non-finite, 1 far outside the image, 1 zero area or under 1 px, 1 outside the '
            'image; first in image 1)') in line
    assert "2 annotations whose category_id is not among the file's categories ignored (ids [0, 99])" in line
    assert "1 annotations whose image_id is not among the file's images ignored" in line


def test_images_without_a_usable_box_are_dropped_and_counted(shapes, logged):
    def leave_first_image_without_boxes_and_second_crowd_only(content):
        content['annotations'] = [a for a in content['annotations'] if a['image_id'] != 1]
        for annotation in content['annotations']:
            annotation['iscrowd'] = int(annotation['image_id'] == 2)
    edit_annotations(shapes, leave_first_image_without_boxes_and_second_crowd_only)
    assert len(dataset(shapes)) == 2
    assert '2 images without a usable box dropped, 1 of them crowd-only' in summary(logged)
    assert len(dataset(shapes, test_mode=True)) == 4  # evaluation keeps every image


def test_no_usable_image_left_is_a_clear_error(shapes):
    edit_annotations(shapes, lambda content: content.update(annotations=[]))
    with pytest.raises(DataError, match=r'no image of .*instances_train.json is left after filtering .*: .*0 images, '
                                        r'0 boxes of 6 classes used; 4 images without a usable box dropped'):
        dataset(shapes)


def test_evaluation_without_a_box_is_refused_instead_of_reporting_minus_one(shapes):
    """COCOeval scores a file without ground truth as mAP -1 (and the tools would exit 0)."""
    edit_annotations(shapes, lambda content: content.update(annotations=[]))
    with pytest.raises(DataError, match='has no usable non-crowd box of the classes .* would report mAP -1'):
        dataset(shapes, test_mode=True)


# ---------------------------------------------------------------- image files

def test_missing_image_files_skip_in_training_and_fail_in_testing(shapes, logged):
    (shapes / 'train/000002.jpg').unlink()
    assert len(dataset(shapes)) == 3
    line = summary(logged)
    assert '1 images skipped whose files are missing, e.g. ' in line and '000002.jpg' in line
    with pytest.raises(DataFileNotFoundError, match='1 images listed in .* are missing, e.g. .*000002.jpg'):
        dataset(shapes, test_mode=True)


def test_zero_byte_images_skip_in_training_and_fail_in_testing(shapes, logged):
    (shapes / 'train/000003.jpg').write_bytes(b'')
    data = dataset(shapes, pipeline=[dict(type='LoadImageFromFile')])
    assert len(data) == 3 and all(data[i]['img_path'] != str(shapes / 'train/000003.jpg') for i in range(3))
    assert '1 images skipped whose files are empty (0 bytes), e.g. ' in summary(logged)
    with pytest.raises(DataError, match=r'1 images listed in .* are empty \(0 bytes\), e.g. .*000003.jpg'):
        dataset(shapes, test_mode=True)


def corrupt_images(root):
    """Three of the four training images made undecodable: random bytes, a JSON file, a cut-off PNG."""
    (root / 'train/000002.jpg').write_bytes(bytes(random.Random(0).randrange(256) for _ in range(2000)))
    shutil.copy(root / ANNOTATIONS, root / 'train/000003.jpg')
    png = cv2.imencode('.png', cv2.imread(str(root / 'train/000004.jpg')))[1].tobytes()
    (root / 'train/000004.jpg').write_bytes(png[:len(png) // 3])
    return [str(root / f'train/00000{i}.jpg') for i in (2, 3, 4)]


def test_corrupt_images_are_skipped_and_counted_when_training(shapes, logged):
    bad = corrupt_images(shapes)
    data = dataset(shapes, pipeline=[dict(type='LoadImageFromFile')])
    for i in range(len(data)):
        assert data[i]['img_path'] == str(shapes / 'train/000001.jpg')  # the only readable one, drawn instead
    assert data.skipped_images == {path: 'cannot be decoded' for path in bad}
    skipped = [m for _, m in logged if 'cannot be decoded' in m]
    assert len(skipped) == 3 and all(any(path in m for m in skipped) for path in bad)
    assert '(3 images skipped so far by this process)' in skipped[-1]


def test_corrupt_image_in_strict_training_is_an_error_naming_it(shapes):
    bad = corrupt_images(shapes)
    data = dataset(shapes, pipeline=[dict(type='LoadImageFromFile')], strict=True)
    with pytest.raises(ImageFileError, match=rf'image {bad[0]} .* cannot be decoded \(strict: '):
        data[1]


def test_corrupt_image_in_evaluation_is_an_error_naming_it(shapes):
    bad = corrupt_images(shapes)
    data = dataset(shapes, test_mode=True, pipeline=[dict(type='LoadImageFromFile')])
    with pytest.raises(ImageFileError, match=f'image {bad[1]} .* cannot be decoded'):
        data[2]


def test_an_image_of_another_size_than_annotated_is_skipped_or_named(shapes, logged):
    small = cv2.imread(str(shapes / 'train/000002.jpg'))[:48]
    cv2.imwrite(str(shapes / 'train/000002.jpg'), small)
    data = dataset(shapes, pipeline=[dict(type='LoadImageFromFile'), dict(type='PackDetInputs')])
    assert {data[1]['data_samples'].img_path for _ in range(5)} != {str(shapes / 'train/000002.jpg')}
    expected = f'is 96x48 pixels but {data.ann_file} gives 96x96'
    assert data.skipped_images == {str(shapes / 'train/000002.jpg'): expected}
    edit_annotations(shapes, lambda content: content['images'][1].update(width=48, height=96))
    data = dataset(shapes, test_mode=True, pipeline=[dict(type='LoadImageFromFile')])
    with pytest.raises(ImageFileError, match=r'000002.jpg .* is 96x48 pixels but .* gives 48x96 \(width and height '
                                             r'swapped: an EXIF orientation tag\?\)'):
        data[1]


# ---------------------------------------------------------------- the summary and strict mode

def test_a_clean_dataset_logs_one_info_line(shapes, logged):
    data = dataset(shapes)
    line = summary(logged)
    assert line.endswith(f'4 images, {instance_count(data)} boxes of 6 classes used, nothing ignored')
    assert [level for level, m in logged if m == line] == [logging.INFO]


def test_strict_makes_anything_ignored_an_error(shapes):
    dataset(shapes, strict=True)  # nothing to report: no error
    (shapes / 'train/000002.jpg').unlink()
    with pytest.raises(DataError, match=r'3 images, .* 1 images skipped whose files are missing.* \(strict: '):
        dataset(shapes, strict=True)
