"""`house-digits`: rendered house-number crops, an SVHN-like stand-in with no download (10 classes).

Like SVHN's cropped digits: the label is the digit in the centre, drawn in a random colour, size, slant and
stroke over a random background, with parts of neighbouring digits at both sides, then blurred and noised.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from fmsbench.data.base import DATASETS, RawData
from fmsbench.data.generated import SUPERSAMPLE, balanced_labels, generated_raw, random_colours, rgb255
from fmsbench.data.spec import DatasetSpec

NUM_CLASSES = 10


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def render(rng: np.random.Generator, count: int, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    side = image_size * SUPERSAMPLE
    labels = balanced_labels(rng, count, NUM_CLASSES)
    fg, bg = random_colours(rng, count, min_distance=0.5)
    images = np.empty((count, 3, image_size, image_size), np.uint8)
    for index, digit in enumerate(labels):
        canvas = Image.new("RGB", (side, side), rgb255(bg[index]))
        draw = ImageDraw.Draw(canvas)
        font = _font(max(6, int(side * rng.uniform(0.85, 1.1))))
        stroke = int(rng.integers(0, 2))
        spacing = side * rng.uniform(0.6, 0.75)
        centre = np.array([side / 2, side / 2]) + rng.normal(0, side * 0.04, 2)
        neighbours = rng.integers(0, 10, 2)
        for shift, value in ((-spacing, neighbours[0]), (0.0, digit), (spacing, neighbours[1])):
            draw.text((centre[0] + shift, centre[1]), str(value), fill=rgb255(fg[index]), font=font, anchor="mm",
                      stroke_width=stroke, stroke_fill=rgb255(fg[index]))
        canvas = canvas.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR, fillcolor=rgb255(bg[index]))
        canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 0.8)))
        small = canvas.resize((image_size, image_size), Image.Resampling.BOX)
        pixels = np.asarray(small, np.float32) + rng.normal(0, rng.uniform(2, 8), (image_size, image_size, 3))
        images[index] = np.clip(np.round(pixels), 0, 255).astype(np.uint8).transpose(2, 0, 1)
    return images, labels


@DATASETS.register("house-digits", classes=NUM_CLASSES)
def house_digits(spec: DatasetSpec, root: Path, download: bool) -> RawData:
    return generated_raw(spec, render, NUM_CLASSES)
