"""COCO dataset that reports bad input instead of silently working around it.

mmdet's ``CocoDataset`` silently drops zero-area and out-of-image boxes, fails with a deep
traceback on a missing or malformed annotation file, and with "need at least one array to
concatenate" when filtering leaves no image. :class:`CheckedCocoDataset` names the file
and counts what it skips in the log.
"""
from __future__ import annotations

import json
import math
import os.path as osp

from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmengine.logging import print_log

from mixdet.registry import DATASETS

REQUIRED_KEYS = ('images', 'annotations', 'categories')
# mmcv's LoadImageFromFile asserts with this message when a file cannot be decoded.
DECODE_FAILURE = 'failed to load image'


class UnreadableImageError(ValueError):
    """An image file that exists but cannot be decoded, met during evaluation (one line naming it)."""


class CheckedCOCO(COCO):
    """mmdet's COCO API that names the annotation file when it is missing or not COCO instances JSON.

    The file is parsed once, by pycocotools, as with ``CocoDataset``.
    """

    def __init__(self, annotation_file: str):
        if not osp.isfile(annotation_file):
            raise FileNotFoundError(f'annotation file not found: {annotation_file}')
        try:
            super().__init__(annotation_file)
        except json.JSONDecodeError as error:
            raise ValueError(f'annotation file {annotation_file} is not valid JSON: {error}') from None
        except AssertionError:  # pycocotools asserts that the top level is a dict
            raise ValueError(f'annotation file {annotation_file} is not COCO instances format: not a JSON object') \
                from None
        missing = [k for k in REQUIRED_KEYS if k not in self.dataset]
        if missing:
            raise ValueError(f'annotation file {annotation_file} is not COCO instances format: missing {missing}')


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """``CocoDataset`` with checked annotation files, counted skips and clear errors. Arguments as ``CocoDataset``.

    * missing / malformed annotation file: error naming the file;
    * zero-area, sub-pixel or out-of-image boxes: skipped (as mmdet does) and counted in a warning;
    * boxes with a non-finite coordinate and annotations of unknown categories: skipped and counted;
    * missing image files: skipped with a counted warning when training, an error naming them in test mode;
    * image files that cannot be decoded (truncated, not an image): when training, skipped with a counted
      warning (mmengine then draws another image); in test mode an UnreadableImageError naming the file, since
      an evaluation that skips images is not comparable;
    * images left without annotations: dropped by ``filter_cfg`` and counted; no image left: an error.
    """

    COCOAPI = CheckedCOCO

    def load_data_list(self) -> list[dict]:
        self._unusable_boxes: list[int] = []  # image id per skipped box
        self._unknown_categories: list = []  # category_id per annotation of an unknown category
        self.unreadable_images: set[str] = set()  # met by prepare_data in this process
        data_list = super().load_data_list()
        if self._unusable_boxes:
            print_log(f'{self.ann_file}: skipped {len(self._unusable_boxes)} boxes with zero area, outside their '
                      f'image or with a non-finite coordinate (first in image {self._unusable_boxes[0]})',
                      logger='current', level=30)
        if self._unknown_categories:
            print_log(f'{self.ann_file}: skipped {len(self._unknown_categories)} annotations whose category_id is '
                      f'not among the file\'s categories (ids {sorted(set(self._unknown_categories))[:5]})',
                      logger='current', level=30)
        missing = [d['img_path'] for d in data_list if not osp.isfile(d['img_path'])]
        if missing and self.test_mode:
            raise FileNotFoundError(f'{len(missing)} images listed in {self.ann_file} are missing, e.g. {missing[0]}')
        if missing:
            print_log(f'{self.ann_file}: skipped {len(missing)} images whose files are missing, e.g. {missing[0]}',
                      logger='current', level=30)
            missing = set(missing)
            data_list = [d for d in data_list if d['img_path'] not in missing]
        return data_list

    def prepare_data(self, idx: int):
        """The pipeline's output for ``idx``; None (draw another) for an undecodable image when training."""
        try:
            return super().prepare_data(idx)
        except AssertionError as error:
            if not str(error).startswith(DECODE_FAILURE):
                raise
            path = self.get_data_info(idx)['img_path']
            if self.test_mode:
                raise UnreadableImageError(f'cannot decode image {path} (listed in {self.ann_file}): an evaluation '
                                           f'that skips images is not comparable; fix or remove it') from None
        if path in self.unreadable_images:
            return None
        self.unreadable_images.add(path)
        print_log(f'{self.ann_file}: skipped image {path}, which cannot be decoded ({len(self.unreadable_images)} '
                  f'unreadable images met so far by this process)', logger='current', level=30)
        return None

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """``CocoDataset.parse_data_info``, counting what it dropped and dropping what it should not keep.

        Counted: boxes it dropped as unusable (zero area, under 1 px, outside the image) among annotations of
        this dataset's classes that are not ``ignore``; boxes with a non-finite coordinate (which mmdet keeps,
        to be clipped to the image later), dropped here; annotations whose ``category_id`` is not among the
        file's categories (which mmdet drops silently).
        """
        data_info = super().parse_data_info(raw_data_info)
        annotations = [a for a in raw_data_info['raw_ann_info'] if not a.get('ignore', False)]
        candidates = sum(1 for a in annotations if a['category_id'] in self.cat_ids)
        data_info['instances'] = [i for i in data_info['instances'] if all(map(math.isfinite, i['bbox']))]
        self._unusable_boxes += [data_info['img_id']] * (candidates - len(data_info['instances']))
        self._unknown_categories += [a['category_id'] for a in annotations if a['category_id'] not in self.coco.cats]
        return data_info

    def filter_data(self) -> list[dict]:
        kept = super().filter_data()
        dropped = len(self.data_list) - len(kept)
        if dropped:
            print_log(f'{self.ann_file}: dropped {dropped} of {len(self.data_list)} images without usable '
                      f'annotations or smaller than filter_cfg.min_size', logger='current', level=30)
        if not kept:
            raise ValueError(f'no image of {self.ann_file} is left after filtering ({len(self.data_list)} images, '
                             f'filter_cfg={self.filter_cfg}): check the annotations and filter_cfg')
        return kept
