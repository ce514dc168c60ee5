"""The dataset's class names (``metainfo['classes']``) checked against the categories of its annotation file.

mmdet maps class names to category ids with ``COCO.get_cat_ids(cat_names=classes)``, which silently skips names
that are not categories (their boxes are never learnt, and "no image left" when none matches), returns two ids for
a name that two categories share, and numbers the labels in the file's order whatever the order of ``classes``
(so predictions are drawn and reported under the wrong names). :func:`category_ids` refuses each of these in one
line naming the file, the names and the closest category names.
"""
from __future__ import annotations

import difflib
from collections import Counter

from mmdet.datasets import CocoDataset

from .errors import DataError

SHOWN = 5  # names listed in a message
COCO_CLASSES = tuple(CocoDataset.METAINFO['classes'])


def category_ids(classes, categories: list[dict], path: str) -> list:
    """Category ids of ``classes``, in their order (which then is also the file's order); DataError otherwise."""
    _check_classes_value(classes)
    ids_of_name: dict[str, list] = {}
    for category in categories:
        ids_of_name.setdefault(category['name'], []).append(category['id'])
    names = list(ids_of_name)
    absent = [c for c in classes if c not in ids_of_name]
    if absent:
        raise DataError(_absent_message(classes, absent, names, path))
    shared = [c for c in classes if len(ids_of_name[c]) > 1]
    if shared:
        raise DataError(f'{path}: category name {shared[0]!r} belongs to {len(ids_of_name[shared[0]])} categories '
                        f'(ids {ids_of_name[shared[0]]}); mmdet would give them different labels under one name: '
                        f'merge them into one category or rename one')
    file_order = [n for n in names if n in set(classes)]
    if file_order != list(classes):
        raise DataError(f'metainfo classes are not in the order of the categories of {path}: mmdet numbers the '
                        f'labels in the file\'s order, so predictions would carry the wrong names; write '
                        f'classes={tuple(file_order)}')
    return [ids_of_name[c][0] for c in classes]


def _check_classes_value(classes) -> None:
    if isinstance(classes, str):
        raise DataError(f'metainfo classes must be a tuple of names, got the string {classes!r} '
                        f'(one class is written classes=({classes!r},), with the comma)')
    if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
        raise DataError(f'metainfo classes must be a tuple of names (strings), got {classes!r}')
    if not classes:
        raise DataError('metainfo classes is empty: name the categories to train, e.g. classes=(\'cat\', \'dog\')')
    repeated = [c for c, n in Counter(classes).items() if n > 1]
    if repeated:
        raise DataError(f'metainfo classes name {repeated[0]!r} more than once: {tuple(classes)}')


def _absent_message(classes, absent: list[str], names: list[str], path: str) -> str:
    hints = []
    for name in absent[:SHOWN]:
        closest = closest_name(name, names)
        hints.append(f'{name!r}' + (f' (closest: {closest!r})' if closest else ''))
    more = f' and {len(absent) - SHOWN} more' if len(absent) > SHOWN else ''
    default = ' (mmdet\'s 80 COCO classes, the default when metainfo is not set)' \
        if tuple(classes) == COCO_CLASSES else ''
    listed = ', '.join(map(repr, names[:20])) + (', ...' if len(names) > 20 else '')
    return (f'{len(absent)} of {len(classes)} metainfo classes{default} are not categories of {path}: '
            f'{", ".join(hints)}{more}; its categories are {listed}: set metainfo=dict(classes=(...)) in the '
            f'dataset config to names of the file')


def closest_name(name: str, names: list[str]) -> str | None:
    """The category name ``name`` most likely meant: equal but for case, else the closest by difflib."""
    for candidate in names:
        if candidate.casefold() == name.casefold():
            return candidate
    matches = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return matches[0] if matches else None
