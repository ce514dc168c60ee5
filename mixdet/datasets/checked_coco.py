"""COCO dataset that reports bad input instead of silently working around it.

mmdet's ``CocoDataset`` silently drops boxes and annotations, keeps boxes that break training, attaches boxes
to the wrong image when ids repeat, and fails with a deep traceback on a missing or malformed annotation file,
a missing key, a zero-byte image or when filtering leaves no image. :class:`CheckedCocoDataset` checks the
file (:mod:`.coco_format`) and the class names (:mod:`.category_check`), counts everything it ignores into
one summary line logged when the dataset is read (:mod:`.data_report`), and raises :class:`DataError`, one
line naming the file, for what would make results wrong.
"""
from __future__ import annotations

import json
import logging
import os
import os.path as osp

from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmengine.logging import print_log

from mixdet.registry import DATASETS

from .box_check import box_problem
from .category_check import category_ids
from .coco_format import check_coco_format
from .data_report import DataReport
from .errors import DataError, DataFileNotFoundError, ImageFileError

# mmcv's LoadImageFromFile asserts with this message when a file cannot be decoded.
DECODE_FAILURE = 'failed to load image'


class CheckedCOCO(COCO):
    """mmdet's COCO API on a checked file: it names the file when it is missing, not JSON or not COCO instances
    format (:func:`.coco_format.check_coco_format`), and :meth:`get_cat_ids` refuses class names that do not map
    one to one, in order, onto the file's categories. The file is parsed once, by pycocotools."""

    def __init__(self, annotation_file: str):
        if not osp.isfile(annotation_file):
            raise DataFileNotFoundError(f'annotation file not found: {annotation_file}')
        self.path = annotation_file
        try:
            super().__init__(annotation_file)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DataError(f'annotation file {annotation_file} is not valid JSON: {error}') from None
        except AssertionError:  # pycocotools asserts that the top level is a dict
            raise DataError(f'annotation file {annotation_file} is not COCO instances format: not a JSON object') \
                from None

    def createIndex(self):  # noqa: N802 (pycocotools' name)
        check_coco_format(self.dataset, self.path)
        super().createIndex()
        self.orphan_annotations = sum(1 for a in self.dataset['annotations'] if a['image_id'] not in self.imgs)

    def get_cat_ids(self, cat_names=None, sup_names=(), cat_ids=()):
        """Ids of the categories named ``cat_names`` in that order (DataError when one is not exactly one
        category, or when the order differs from the file's); pycocotools' filter for the other arguments."""
        if cat_names is None or sup_names or cat_ids:
            return super().get_cat_ids(cat_names or [], list(sup_names), list(cat_ids))
        return category_ids(cat_names, self.dataset['categories'], self.path)


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """``CocoDataset`` with checked annotation files, counted skips and one-line errors.

    Arguments as ``CocoDataset``, plus ``strict``: when True, anything the summary reports as ignored or
    dropped, and any training image skipped when met, is a :class:`DataError` instead of a warning
    (``tools/train.py --strict-data`` sets it).

    Always errors: a missing, non-JSON or malformed annotation file (missing keys, repeated ids, a bbox that is
    not four numbers); class names that are not categories of the file (with the closest names), name two
    categories or come in another order; no image left after filtering. In test mode also: missing or empty
    image files, an image that cannot be decoded or whose size differs from the file's, and a file without a
    single box of the classes (COCO evaluation would report mAP -1).

    Counted in the summary and skipped: annotations of categories not in ``metainfo`` classes or of unknown
    category ids or image ids; boxes that mmdet drops (outside the image, under 1 px) and those it would keep
    but cannot train on (non-finite, absurdly far outside the image); missing and zero-byte image files; with
    ``filter_cfg.filter_empty_gt``, images without a usable box (crowd-only images included, which mmdet
    keeps and trains as background). When training, an image that cannot be decoded or whose size differs from
    the file's is skipped when met (mmengine draws another) and logged with a running count.
    """

    COCOAPI = CheckedCOCO

    def __init__(self, *args, strict: bool = False, **kwargs):
        self.strict = strict
        super().__init__(*args, **kwargs)

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        self.report = DataReport(self.ann_file)
        self.skipped_images: dict[str, str] = {}  # path -> why, met by prepare_data in this process
        super().full_init()
        self._log_report()

    def _log_report(self) -> None:
        line = self.report.summary(len(self), len(self.metainfo['classes']))
        problems = self.report.problems()
        if problems and self.strict:
            raise DataError(f'{line} (strict: anything ignored or dropped is an error)')
        print_log(line, logger='current', level=logging.WARNING if problems else logging.INFO)

    def load_data_list(self) -> list[dict]:
        data_list = super().load_data_list()
        for data_info in data_list:
            try:
                empty = os.stat(data_info['img_path']).st_size == 0
            except FileNotFoundError:
                self.report.missing_images.append(data_info['img_path'])
                continue
            if empty:
                self.report.empty_images.append(data_info['img_path'])
        if self.test_mode:
            self._check_evaluable()
        unusable = set(self.report.missing_images + self.report.empty_images)
        return [d for d in data_list if d['img_path'] not in unusable]

    def _check_evaluable(self) -> None:
        """Refuse what an evaluation cannot skip without becoming incomparable."""
        for files, what in ((self.report.missing_images, 'missing'), (self.report.empty_images, 'empty (0 bytes)')):
            if files:
                raise (DataFileNotFoundError if what == 'missing' else DataError)(
                    f'{len(files)} images listed in {self.ann_file} are {what}, e.g. {files[0]}: an evaluation '
                    f'that skips images is not comparable')
        if self.report.boxes == self.report.crowd_boxes:
            raise DataError(f'{self.ann_file} has no usable non-crowd box of the classes {self.metainfo["classes"]}'
                            f': COCO evaluation would report mAP -1 for every metric')

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """``CocoDataset.parse_data_info`` on the annotations that can be trained on; the others are counted."""
        if self.report.orphan_annotations is None:  # first image: the file's index is at hand
            self.report.orphan_annotations = self.coco.orphan_annotations
        image = raw_data_info['raw_img_info']
        usable = []
        for annotation in raw_data_info['raw_ann_info']:
            category = annotation['category_id']
            if annotation.get('ignore', False):
                continue
            if category not in self.coco.cats:
                self.report.unknown_category_ids[category] += 1
            elif category not in self.cat2label:
                self.report.other_categories[self.coco.cats[category]['name']] += 1
            else:
                problem = box_problem(annotation['bbox'], annotation['area'], image['width'], image['height'])
                if problem:
                    self.report.bad_box(problem, image['img_id'])
                else:
                    usable.append(annotation)
        data_info = super().parse_data_info(dict(raw_data_info, raw_ann_info=usable))
        self.report.boxes += len(data_info['instances'])
        self.report.crowd_boxes += sum(i['ignore_flag'] for i in data_info['instances'])
        return data_info

    def filter_data(self) -> list[dict]:
        """mmdet's filter (``filter_cfg``: ``min_size``, ``filter_empty_gt``), counted, where an image is empty
        when it has no usable non-crowd box (mmdet keeps images whose boxes it dropped and crowd-only images)."""
        if self.test_mode or self.filter_cfg is None:
            return self.data_list
        filter_empty = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        kept = []
        for data_info in self.data_list:
            if min(data_info['width'], data_info['height']) < min_size:
                self.report.small_images += 1
            elif filter_empty and all(i['ignore_flag'] for i in data_info['instances']):
                self.report.no_box_images += 1
                self.report.crowd_only_images += bool(data_info['instances'])
            else:
                kept.append(data_info)
        if not kept:
            raise DataError(f'no image of {self.ann_file} is left after filtering (filter_cfg={self.filter_cfg}): '
                            + self.report.summary(0, len(self.metainfo['classes'])))
        return kept

    def prepare_data(self, idx: int):
        """The pipeline's output for ``idx``; None (mmengine draws another) for an image that cannot be decoded
        or differs in size from the annotation file, when training; ImageFileError naming it in test mode."""
        try:
            data = super().prepare_data(idx)
        except AssertionError as error:
            if not str(error).startswith(DECODE_FAILURE):
                raise
            return self._bad_image(idx, 'cannot be decoded')
        info = self.get_data_info(idx)
        loaded = loaded_size(data)
        if loaded is not None and loaded != (info['height'], info['width']):
            swapped = ' (width and height swapped: an EXIF orientation tag?)' \
                if loaded == (info['width'], info['height']) else ''
            return self._bad_image(idx, f'is {loaded[1]}x{loaded[0]} pixels but {self.ann_file} gives '
                                        f'{info["width"]}x{info["height"]}{swapped}')
        return data

    def _bad_image(self, idx: int, problem: str) -> None:
        path = self.get_data_info(idx)['img_path']
        if self.test_mode:
            raise ImageFileError(f'image {path} (listed in {self.ann_file}) {problem}: an evaluation that skips '
                                 f'images is not comparable; fix or remove it')
        if self.strict:
            raise ImageFileError(f'image {path} (listed in {self.ann_file}) {problem} (strict: a training image '
                                 f'that has to be skipped is an error)')
        if path not in self.skipped_images:
            self.skipped_images[path] = problem
            print_log(f'{self.ann_file}: skipped image {path}, which {problem} ({len(self.skipped_images)} images '
                      f'skipped so far by this process)', logger='current', level=logging.WARNING)
        return None


def loaded_size(data) -> tuple | None:
    """``(height, width)`` of the image as loaded (``ori_shape``) from a pipeline's output, if it says."""
    if not isinstance(data, dict):
        return None
    samples = data.get('data_samples')
    meta = samples.metainfo if samples is not None else data
    shape = meta.get('ori_shape')
    return None if shape is None else tuple(shape[:2])
