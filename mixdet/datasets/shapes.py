"""A deterministic synthetic detection dataset: coloured shapes on textured backgrounds.

Every image is drawn from its own random stream, seeded by ``(seed, split, index)``, so the same
arguments always give byte-identical JPEG files and JSON. Images are written with OpenCV as JPEG
and annotated in COCO instances format (boxes are COCO ``[x, y, w, h]`` floats).

Objects: 1 to ``max_objects`` per image, randomly rotated, of six shape classes (``SHAPE_CLASSES``).
About ``small_fraction`` of them are small (8-16 px across on a 192 px image), the rest are drawn
log-uniformly between a tenth and a half of the image side. Later shapes may cover earlier ones;
an object's box stays its full-shape box, its ``area`` is its visible mask area, and an object more
than ``MAX_COVERED`` covered is left out of the annotations.

Default layout::

    OUT/train/000001.jpg ...            OUT/annotations/instances_train.json
    OUT/val/000001.jpg ...              OUT/annotations/instances_val.json

with category ids 1..6 named as in ``SHAPE_CLASSES``. With ``coco_layout=True`` the COCO 2017 layout
(``train2017/000000000001.jpg``, ``annotations/instances_train2017.json``, ...) is written with all
80 of COCO's categories, each shape labelled as one real COCO category (``SHAPE_TO_COCO``), so
configs written for COCO run on it unchanged.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

SHAPE_CLASSES = ('circle', 'rectangle', 'triangle', 'star', 'cross', 'ring')

# COCO 2017's 80 detection categories: id -> name (ids run 1..90 with gaps).
COCO_CATEGORIES = {
    1: 'person', 2: 'bicycle', 3: 'car', 4: 'motorcycle', 5: 'airplane', 6: 'bus', 7: 'train', 8: 'truck',
    9: 'boat', 10: 'traffic light', 11: 'fire hydrant', 13: 'stop sign', 14: 'parking meter', 15: 'bench',
    16: 'bird', 17: 'cat', 18: 'dog', 19: 'horse', 20: 'sheep', 21: 'cow', 22: 'elephant', 23: 'bear',
    24: 'zebra', 25: 'giraffe', 27: 'backpack', 28: 'umbrella', 31: 'handbag', 32: 'tie', 33: 'suitcase',
    34: 'frisbee', 35: 'skis', 36: 'snowboard', 37: 'sports ball', 38: 'kite', 39: 'baseball bat',
    40: 'baseball glove', 41: 'skateboard', 42: 'surfboard', 43: 'tennis racket', 44: 'bottle',
    46: 'wine glass', 47: 'cup', 48: 'fork', 49: 'knife', 50: 'spoon', 51: 'bowl', 52: 'banana', 53: 'apple',
    54: 'sandwich', 55: 'orange', 56: 'broccoli', 57: 'carrot', 58: 'hot dog', 59: 'pizza', 60: 'donut',
    61: 'cake', 62: 'chair', 63: 'couch', 64: 'potted plant', 65: 'bed', 67: 'dining table', 70: 'toilet',
    72: 'tv', 73: 'laptop', 74: 'mouse', 75: 'remote', 76: 'keyboard', 77: 'cell phone', 78: 'microwave',
    79: 'oven', 80: 'toaster', 81: 'sink', 82: 'refrigerator', 84: 'book', 85: 'clock', 86: 'vase',
    87: 'scissors', 88: 'teddy bear', 89: 'hair drier', 90: 'toothbrush',
}

# Shape class -> the COCO category that stands for it in the COCO layout.
SHAPE_TO_COCO = {
    'circle': 'sports ball',
    'rectangle': 'book',
    'triangle': 'kite',
    'star': 'frisbee',
    'cross': 'airplane',
    'ring': 'donut',
}

MAX_COVERED = 0.6  # an object more covered than this by later shapes is not annotated
JPEG_QUALITY = 90
PLACEMENT_TRIES = 10  # random spots tried for a shape before it is left at the last one...
MAX_NEW_OVERLAP = 0.3  # ...unless at most this share of its pixels lands on earlier shapes
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 64, 2048
_SUBPIXEL_BITS = 4
_SPLIT_CODES = {'train': 0, 'val': 1}


def make_shapes_dataset(out_dir, num_train: int = 5000, num_val: int = 200, seed: int = 0,
                        coco_layout: bool = False, image_size: int = 192, max_objects: int = 6,
                        small_fraction: float = 0.15) -> dict:
    """Write the train and val splits under ``out_dir``; return, per split, what was written.

    The result maps ``'train'``/``'val'`` to ``dict(img_dir, ann_file, images, annotations)``.
    """
    _check_arguments(num_train, num_val, seed, image_size, max_objects, small_fraction)
    out_dir = Path(out_dir)
    written = {}
    for split, count in (('train', num_train), ('val', num_val)):
        images = (render_image(image_rng(seed, split, index), image_size, max_objects, small_fraction)
                  for index in range(count))
        written[split] = write_split(out_dir, split, images, coco_layout,
                                     info=dict(seed=seed, image_size=image_size, max_objects=max_objects,
                                               small_fraction=small_fraction))
    return written


def _check_arguments(num_train, num_val, seed, image_size, max_objects, small_fraction):
    """Raise ValueError naming the first bad argument."""
    for name, value in (('num_train', num_train), ('num_val', num_val), ('seed', seed)):
        if not _is_int(value) or value < 0:
            raise ValueError(f'{name} must be a non-negative integer, got {value!r}')
    if not _is_int(image_size) or not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise ValueError(f'image_size must be an integer in [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}], '
                         f'got {image_size!r}')
    if not _is_int(max_objects) or max_objects < 1:
        raise ValueError(f'max_objects must be a positive integer, got {max_objects!r}')
    if isinstance(small_fraction, bool) or not isinstance(small_fraction, (int, float)) \
            or not 0 <= small_fraction <= 1:
        raise ValueError(f'small_fraction must be a number in [0, 1], got {small_fraction!r}')


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream of one image: depends only on the seed, the split and the image's index."""
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODES[split], index]))


# ---------------------------------------------------------------- drawing

def render_image(rng: np.random.Generator, image_size: int, max_objects: int = 6,
                 small_fraction: float = 0.15) -> tuple[np.ndarray, list[dict]]:
    """Draw one image (BGR uint8) and its annotated objects.

    Each object is ``dict(label, bbox, area, mask)``: ``label`` indexes ``SHAPE_CLASSES``, ``bbox`` is
    the full shape's tight COCO box, ``area`` the visible pixel count, ``mask`` the full shape mask.
    """
    canvas = random_background(rng, image_size)
    shapes = []  # dict(label, mask, visible) in drawing order
    for _ in range(rng.integers(1, max_objects + 1)):
        label = int(rng.integers(len(SHAPE_CLASSES)))
        size = shape_size(rng, image_size, small_fraction)
        mask = place_shape(rng, label, size, image_size, _union(shapes, image_size))
        paint(rng, canvas, mask)
        for earlier in shapes:
            earlier['visible'] &= ~mask
        shapes.append(dict(label=label, mask=mask, visible=mask.copy()))
    grain = rng.normal(0, rng.uniform(2, 6), canvas.shape)
    image = np.clip(canvas + grain, 0, 255).astype(np.uint8)
    return image, [annotation(shape) for shape in shapes if covered_fraction(shape) <= MAX_COVERED]


def _union(shapes: list[dict], image_size: int) -> np.ndarray:
    union = np.zeros((image_size, image_size), bool)
    for shape in shapes:
        union |= shape['visible']
    return union


def covered_fraction(shape: dict) -> float:
    """Share of a shape's pixels hidden by shapes drawn after it."""
    return 1 - shape['visible'].sum() / shape['mask'].sum()


def annotation(shape: dict) -> dict:
    return dict(label=shape['label'], bbox=mask_to_bbox(shape['mask']), area=int(shape['visible'].sum()),
                mask=shape['mask'])


def mask_to_bbox(mask: np.ndarray) -> list[float]:
    """Tight COCO box ``[x, y, w, h]`` of a non-empty boolean mask, in pixel-edge coordinates."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    x0, y0 = cols[0], rows[0]
    return [float(x0), float(y0), float(cols[-1] + 1 - x0), float(rows[-1] + 1 - y0)]


def shape_size(rng: np.random.Generator, image_size: int, small_fraction: float) -> float:
    """Shape diameter in pixels: small (side/24 .. side/12) or log-uniform in side/10 .. side/2."""
    if rng.random() < small_fraction:
        return rng.uniform(image_size / 24, image_size / 12)
    return float(np.exp(rng.uniform(np.log(image_size / 10), np.log(image_size / 2))))


def place_shape(rng: np.random.Generator, label: int, size: float, image_size: int,
                occupied: np.ndarray) -> np.ndarray:
    """Mask of a randomly rotated and placed shape, preferring spots mostly off ``occupied``."""
    outline, holes = unit_shape(rng, SHAPE_CLASSES[label])
    for _ in range(PLACEMENT_TRIES):
        mask = rasterize(*pose(rng, [outline, *holes], size, image_size), image_size)
        if (mask & occupied).sum() <= MAX_NEW_OVERLAP * mask.sum():
            break
    return mask


def unit_shape(rng: np.random.Generator, name: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """Outline polygon within the unit disc (N x 2) and hole polygons of one shape."""
    if name == 'circle':
        return regular_polygon(48), []
    if name == 'ring':
        return regular_polygon(48), [regular_polygon(48) * rng.uniform(0.45, 0.65)]
    if name == 'rectangle':
        aspect = rng.uniform(0.5, 1.0)
        return np.array([[-1, -aspect], [1, -aspect], [1, aspect], [-1, aspect]]) / np.hypot(1, aspect), []
    if name == 'triangle':
        return regular_polygon(3), []
    if name == 'star':
        radii = np.tile([1.0, rng.uniform(0.38, 0.5)], 5)
        return regular_polygon(10) * radii[:, None], []
    if name == 'cross':
        w = rng.uniform(0.22, 0.34)
        outline = [[-w, 1], [w, 1], [w, w], [1, w], [1, -w], [w, -w],
                   [w, -1], [-w, -1], [-w, -w], [-1, -w], [-1, w], [-w, w]]
        return np.array(outline) / np.hypot(1, w), []
    raise ValueError(f'unknown shape {name!r}')


def regular_polygon(sides: int) -> np.ndarray:
    angles = np.pi / 2 + 2 * np.pi * np.arange(sides) / sides
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def pose(rng: np.random.Generator, polygons: list[np.ndarray], size: float,
         image_size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Rotate, scale to ``size`` across and move the polygons to a random spot inside the image."""
    angle = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(angle), np.sin(angle)
    posed = [p @ np.array([[c, s], [-s, c]]) * (size / 2) for p in polygons]
    low, high = posed[0].min(axis=0), posed[0].max(axis=0)
    room = np.maximum(image_size - 1 - (high - low), 0)
    offset = rng.uniform(0, 1, 2) * room - low + 0.5
    return posed[0] + offset, [p + offset for p in posed[1:]]


def rasterize(outline: np.ndarray, holes: list[np.ndarray], image_size: int) -> np.ndarray:
    """Boolean mask of a polygon minus its holes (sub-pixel vertex precision)."""
    mask = np.zeros((image_size, image_size), np.uint8)
    scale = 1 << _SUBPIXEL_BITS
    to_fixed = [np.round((p - 0.5) * scale).astype(np.int32) for p in (outline, *holes)]
    cv2.fillPoly(mask, to_fixed[:1], 1, shift=_SUBPIXEL_BITS)
    if holes:
        cv2.fillPoly(mask, to_fixed[1:], 0, shift=_SUBPIXEL_BITS)
    return mask.astype(bool)


def paint(rng: np.random.Generator, canvas: np.ndarray, mask: np.ndarray) -> None:
    """Fill ``mask`` on the float canvas with a colour that stands out there, lightly shaded."""
    colour = contrasting_colour(rng, canvas[mask].mean(axis=0))
    shade = linear_ramp(rng, canvas.shape[0])[mask][:, None] * rng.uniform(0, 40)
    canvas[mask] = np.clip(colour + shade - shade.mean(), 0, 255)


def contrasting_colour(rng: np.random.Generator, behind: np.ndarray, draws: int = 6) -> np.ndarray:
    """Of a few random BGR colours, the one that differs most from ``behind`` in some channel."""
    colours = rng.uniform(0, 255, (draws, 3))
    return colours[np.abs(colours - behind).max(axis=1).argmax()]


# ---------------------------------------------------------------- backgrounds

def blotches(rng: np.random.Generator, image_size: int) -> np.ndarray:
    cells = int(rng.integers(3, 12))
    base = rng.uniform(30, 225, 3)
    grid = (base + rng.uniform(-40, 40, (cells, cells, 3))).astype(np.float32)
    return cv2.resize(grid, (image_size, image_size), interpolation=cv2.INTER_CUBIC)


def gradient(rng: np.random.Generator, image_size: int) -> np.ndarray:
    start, end = rng.uniform(0, 255, (2, 3))
    return (start + linear_ramp(rng, image_size)[..., None] * (end - start)).astype(np.float32)


def stripes(rng: np.random.Generator, image_size: int) -> np.ndarray:
    base = rng.uniform(40, 215, 3)
    swing = rng.uniform(-35, 35, 3)
    period = rng.uniform(6, 40)
    wave = np.sin(2 * np.pi * linear_ramp(rng, image_size) * image_size / period + rng.uniform(0, 2 * np.pi))
    return (base + wave[..., None] * swing).astype(np.float32)


def linear_ramp(rng: np.random.Generator, image_size: int) -> np.ndarray:
    """Values in [0, 1] rising linearly across the image in a random direction."""
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:image_size, 0:image_size] / image_size
    ramp = xs * np.cos(angle) + ys * np.sin(angle)
    return (ramp - ramp.min()) / (ramp.max() - ramp.min())


BACKGROUNDS = (blotches, gradient, stripes)


def random_background(rng: np.random.Generator, image_size: int) -> np.ndarray:
    """A float32 BGR background: blotchy noise, a gradient or stripes."""
    return BACKGROUNDS[rng.integers(len(BACKGROUNDS))](rng, image_size)


# ---------------------------------------------------------------- writing

def split_paths(out_dir: Path, split: str, coco_layout: bool) -> tuple[Path, Path]:
    """Image folder and annotation file of one split."""
    name = f'{split}2017' if coco_layout else split
    return out_dir / name, out_dir / 'annotations' / f'instances_{name}.json'


def categories(coco_layout: bool) -> list[dict]:
    if coco_layout:
        return [dict(id=cat_id, name=name) for cat_id, name in COCO_CATEGORIES.items()]
    return [dict(id=label + 1, name=name) for label, name in enumerate(SHAPE_CLASSES)]


def category_ids(coco_layout: bool) -> list[int]:
    """Category id of each shape label."""
    if not coco_layout:
        return list(range(1, len(SHAPE_CLASSES) + 1))
    id_of_name = {name: cat_id for cat_id, name in COCO_CATEGORIES.items()}
    return [id_of_name[SHAPE_TO_COCO[name]] for name in SHAPE_CLASSES]


def write_split(out_dir: Path, split: str, images, coco_layout: bool, info: dict) -> dict:
    """Write a split's ``(pixels, objects)`` images as JPEG files and instances JSON; return paths, counts."""
    img_dir, ann_file = split_paths(out_dir, split, coco_layout)
    img_dir.mkdir(parents=True, exist_ok=True)
    ann_file.parent.mkdir(parents=True, exist_ok=True)
    cat_ids = category_ids(coco_layout)
    image_entries, annotations = [], []
    for image_id, (pixels, objects) in enumerate(images, start=1):
        file_name = f'{image_id:012d}.jpg' if coco_layout else f'{image_id:06d}.jpg'
        (img_dir / file_name).write_bytes(encode_jpeg(pixels))
        height, width = pixels.shape[:2]
        image_entries.append(dict(id=image_id, file_name=file_name, width=width, height=height))
        for obj in objects:
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id, category_id=cat_ids[obj['label']],
                                    bbox=obj['bbox'], area=float(obj['area']), iscrowd=0))
    coco = dict(info=dict(description='mixdet synthetic shapes', split=split, **info), licenses=[],
                images=image_entries, annotations=annotations, categories=categories(coco_layout))
    ann_file.write_text(json.dumps(coco))
    return dict(img_dir=str(img_dir), ann_file=str(ann_file), images=len(image_entries),
                annotations=len(annotations))


def encode_jpeg(image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError('OpenCV could not encode a JPEG image')
    return buffer.tobytes()
