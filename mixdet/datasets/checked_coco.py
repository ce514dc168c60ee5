"""COCO dataset that reports bad input instead of silently working around it.

mmdet's ``CocoDataset`` silently drops zero-area and out-of-image boxes, fails with a deep
traceback on a missing or malformed annotation file, and with "need at least one array to
concatenate" when filtering leaves no image. :class:`CheckedCocoDataset` names the file
and counts what it skips in the log.
"""
from __future__ import annotations

import json
import os.path as osp

from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmengine.logging import print_log

from mixdet.registry import DATASETS

REQUIRED_KEYS = ('images', 'annotations', 'categories')


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
    * missing image files: skipped with a counted warning when training, an error naming them in test mode;
    * images left without annotations: dropped by ``filter_cfg`` and counted; no image left: an error.
    """

    COCOAPI = CheckedCOCO

    def load_data_list(self) -> list[dict]:
        self._unusable_boxes: list[int] = []  # image id per skipped box
        data_list = super().load_data_list()
        if self._unusable_boxes:
            print_log(f'{self.ann_file}: skipped {len(self._unusable_boxes)} boxes with zero area or outside their '
                      f'image (first in image {self._unusable_boxes[0]})', logger='current', level=30)
        missing = [d['img_path'] for d in data_list if not osp.isfile(d['img_path'])]
        if missing and self.test_mode:
            raise FileNotFoundError(f'{len(missing)} images listed in {self.ann_file} are missing, e.g. {missing[0]}')
        if missing:
            print_log(f'{self.ann_file}: skipped {len(missing)} images whose files are missing, e.g. {missing[0]}',
                      logger='current', level=30)
            missing = set(missing)
            data_list = [d for d in data_list if d['img_path'] not in missing]
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """``CocoDataset.parse_data_info``, counting the boxes it dropped as unusable (zero area, under 1 px,
        outside the image): annotations of this dataset's classes, not ``ignore``, that became no instance."""
        data_info = super().parse_data_info(raw_data_info)
        candidates = sum(1 for a in raw_data_info['raw_ann_info']
                         if not a.get('ignore', False) and a['category_id'] in self.cat_ids)
        self._unusable_boxes += [data_info['img_id']] * (candidates - len(data_info['instances']))
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
