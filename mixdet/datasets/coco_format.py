"""Structural checks of a COCO instances file, run before pycocotools indexes it.

pycocotools and mmdet index and read the file without looking: an annotation without ``bbox``, ``area`` or
``category_id`` is a ``KeyError`` deep in mmdet, and a repeated image, annotation or category id silently
overwrites the earlier entry (an image lost, its boxes attached to the other one). Each check here raises
:class:`DataError` with one line naming the file, the entry and how many entries share the problem.
"""
from __future__ import annotations

from collections import Counter
from numbers import Real

from .errors import DataError

# Keys that mmdet's CocoDataset, CocoMetric and pycocotools read without a default.
REQUIRED_KEYS = {
    'images': ('id', 'file_name', 'width', 'height'),
    'annotations': ('id', 'image_id', 'category_id', 'bbox', 'area'),
    'categories': ('id', 'name'),
}


def check_coco_format(content, path: str) -> None:
    """Raise DataError naming the first structural problem of ``content`` (the parsed JSON of ``path``)."""
    if not isinstance(content, dict):
        raise DataError(f'annotation file {path} is not COCO instances format: not a JSON object')
    missing = [section for section in REQUIRED_KEYS if section not in content]
    if missing:
        raise DataError(f'annotation file {path} is not COCO instances format: missing {missing}')
    for section, keys in REQUIRED_KEYS.items():
        entries = content[section]
        if not isinstance(entries, list):
            raise DataError(f'{path}: "{section}" must be a JSON list, got {type(entries).__name__}')
        _check_entries(entries, section, keys, path)
        _check_unique_ids(entries, section, path)
    _check_values(content, path)


def _check_entries(entries: list, section: str, keys: tuple, path: str) -> None:
    bad = [i for i, entry in enumerate(entries) if not isinstance(entry, dict) or not all(k in entry for k in keys)]
    if not bad:
        return
    first = entries[bad[0]]
    what = 'is not a JSON object' if not isinstance(first, dict) else \
        f'(id {first.get("id")!r}) has no {[k for k in keys if k not in first]}'
    raise DataError(f'{path}: {section}[{bad[0]}] {what}; {len(bad)} of {len(entries)} {section} lack one of '
                    f'the keys COCO needs there: {list(keys)}')


def _check_unique_ids(entries: list, section: str, path: str) -> None:
    bad_type = [e['id'] for e in entries if not _is_id(e['id'])]
    if bad_type:
        raise DataError(f'{path}: {section} ids must be integers (or strings), got {bad_type[0]!r} '
                        f'({len(bad_type)} such ids)')
    repeated = {i: n for i, n in Counter(e['id'] for e in entries).items() if n > 1}
    if repeated:
        first = next(iter(repeated))
        raise DataError(f'{path}: {len(repeated)} {section} ids occur more than once (id {first!r} '
                        f'{repeated[first]} times); pycocotools keeps only the last entry of an id, so the others '
                        f'would be lost silently')


def _check_values(content: dict, path: str) -> None:
    for index, image in enumerate(content['images']):
        for key in ('width', 'height'):
            if not _is_number(image[key]) or not image[key] > 0:
                raise DataError(f'{path}: images[{index}] (id {image["id"]!r}) has {key}={image[key]!r}; it must '
                                f'be a positive number of pixels')
    for index, annotation in enumerate(content['annotations']):
        for key in ('image_id', 'category_id'):
            if not _is_id(annotation[key]):
                raise DataError(f'{path}: annotations[{index}] (id {annotation["id"]!r}) has {key}='
                                f'{annotation[key]!r}; ids are integers (or strings)')
        bbox = annotation['bbox']
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(map(_is_number, bbox)):
            raise DataError(f'{path}: annotations[{index}] (id {annotation["id"]!r}) has bbox={bbox!r}; COCO '
                            f'boxes are [x, y, width, height], four numbers')
        if not _is_number(annotation['area']):
            raise DataError(f'{path}: annotations[{index}] (id {annotation["id"]!r}) has '
                            f'area={annotation["area"]!r}; it must be a number')
    for index, category in enumerate(content['categories']):
        if not isinstance(category['name'], str):
            raise DataError(f'{path}: categories[{index}] (id {category["id"]!r}) has name={category["name"]!r}; '
                            f'it must be a string')


def _is_id(value) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)
