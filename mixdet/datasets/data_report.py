"""What a dataset found while reading its annotation file: counts and the one-line summary logged before training."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .box_check import REASONS

SHOWN = 5


@dataclass
class DataReport:
    """Counts of one dataset's reading of ``ann_file``; :meth:`problems` lists what was ignored or dropped."""
    ann_file: str
    boxes: int = 0  # usable boxes of the metainfo classes (crowd ones included)
    crowd_boxes: int = 0
    orphan_annotations: int | None = None  # image_id not among the file's images (None: not counted yet)
    unknown_category_ids: Counter = field(default_factory=Counter)  # category_id -> annotations
    other_categories: Counter = field(default_factory=Counter)  # category name not in metainfo -> annotations
    bad_boxes: Counter = field(default_factory=Counter)  # box_check reason -> boxes
    first_bad_box_image: object = None
    missing_images: list = field(default_factory=list)
    empty_images: list = field(default_factory=list)  # zero-byte files
    crowd_only_images: int = 0  # dropped: every box is iscrowd
    no_box_images: int = 0  # dropped: no usable box of the metainfo classes
    small_images: int = 0  # dropped: smaller than filter_cfg.min_size

    def bad_box(self, reason: str, image_id) -> None:
        self.bad_boxes[reason] += 1
        if self.first_bad_box_image is None:
            self.first_bad_box_image = image_id

    def problems(self) -> list[str]:
        """One phrase per kind of annotation or image that was ignored or dropped (empty when none was)."""
        found = []
        if self.other_categories:
            found.append(f'{sum(self.other_categories.values())} annotations of categories not in metainfo classes '
                         f'ignored ({_counts(self.other_categories)})')
        if self.unknown_category_ids:
            found.append(f'{sum(self.unknown_category_ids.values())} annotations whose category_id is not among the '
                         f'file\'s categories ignored (ids {sorted(self.unknown_category_ids, key=str)[:SHOWN]})')
        if self.orphan_annotations:
            found.append(f'{self.orphan_annotations} annotations whose image_id is not among the file\'s images '
                         f'ignored')
        if self.bad_boxes:
            reasons = ', '.join(f'{self.bad_boxes[r]} {r}' for r in REASONS if self.bad_boxes[r])
            found.append(f'{sum(self.bad_boxes.values())} boxes skipped ({reasons}; first in image '
                         f'{self.first_bad_box_image})')
        for files, what in ((self.missing_images, 'missing'), (self.empty_images, 'empty (0 bytes)')):
            if files:
                found.append(f'{len(files)} images skipped whose files are {what}, e.g. {files[0]}')
        if self.no_box_images:
            crowd = f', {self.crowd_only_images} of them crowd-only' if self.crowd_only_images else ''
            found.append(f'{self.no_box_images} images without a usable box dropped{crowd}')
        if self.small_images:
            found.append(f'{self.small_images} images smaller than filter_cfg.min_size dropped')
        return found

    def summary(self, images: int, classes: int) -> str:
        """The one line logged once the dataset is read: what is used, then each problem."""
        used = f'{self.ann_file}: {images} images, {self.boxes} boxes of {classes} classes used'
        problems = self.problems()
        return f'{used}; ' + '; '.join(problems) if problems else f'{used}, nothing ignored'


def _counts(counter: Counter) -> str:
    shown = ', '.join(f'{name!r}: {n}' for name, n in counter.most_common(SHOWN))
    return shown + (f', {len(counter) - SHOWN} more' if len(counter) > SHOWN else '')
