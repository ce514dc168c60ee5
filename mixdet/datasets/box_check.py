"""Why a COCO box cannot be trained on: mmdet's own reasons (kept silent there) and the ones it lets through."""
from __future__ import annotations

import math

# Reasons, in the order they are tested and reported.
NON_FINITE = 'non-finite'
ABSURD = 'far outside the image'
TOO_SMALL = 'zero area or under 1 px'
OUTSIDE = 'outside the image'
REASONS = (NON_FINITE, ABSURD, TOO_SMALL, OUTSIDE)


def box_problem(bbox: list, area: float, width: float, height: float) -> str | None:
    """The reason a COCO box ``[x, y, w, h]`` of an image ``width`` x ``height`` is unusable, or None.

    mmdet's ``CocoDataset.parse_data_info`` drops boxes with ``area <= 0`` or a side under 1 px and boxes
    that do not overlap the image (:data:`TOO_SMALL`, :data:`OUTSIDE`, the same tests here). It keeps
    boxes with a NaN or infinite value and boxes like ``[0, 0, 1e30, 10]`` that overlap the image but reach
    absurdly far beyond it; such boxes turn losses into NaN or inf. Here a box is :data:`ABSURD` when it
    reaches further outside the image than the image's own width or height.
    """
    x, y, w, h = bbox
    if not all(map(math.isfinite, (x, y, w, h, area))):
        return NON_FINITE
    if x < -width or y < -height or x + w > 2 * width or y + h > 2 * height:
        return ABSURD
    if area <= 0 or w < 1 or h < 1:
        return TOO_SMALL
    overlap_w = max(0, min(x + w, width) - max(x, 0))
    overlap_h = max(0, min(y + h, height) - max(y, 0))
    return OUTSIDE if overlap_w * overlap_h == 0 else None
