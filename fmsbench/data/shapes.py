"""`shapes`: coloured shapes on textured backgrounds, a CIFAR-like stand-in with no download (10 classes).

The class is the shape (circle, square, triangle, star, plus, ring, hexagon, crescent, arrow, bars); size,
position, rotation and colours are random, and the background carries a random low-contrast texture
(gradient, stripes or checks) so that colour alone never tells the class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from fmsbench.data.base import DATASETS, RawData
from fmsbench.data.generated import SUPERSAMPLE, balanced_labels, generated_raw, random_colours, rgb255
from fmsbench.data.spec import DatasetSpec

CLASSES = ("circle", "square", "triangle", "star", "plus", "ring", "hexagon", "crescent", "arrow", "bars")
NUM_CLASSES = len(CLASSES)


def _polygon(centre: np.ndarray, radii: np.ndarray, angle: float) -> list[tuple[float, float]]:
    """Vertices at evenly spaced angles with the given radii, rotated by `angle`."""
    theta = angle + np.linspace(0, 2 * np.pi, len(radii), endpoint=False)
    return [(float(centre[0] + r * np.cos(t)), float(centre[1] + r * np.sin(t))) for r, t in zip(radii, theta)]


def _rotated(centre: np.ndarray, points: list[tuple[float, float]], angle: float) -> list[tuple[float, float]]:
    c, s = np.cos(angle), np.sin(angle)
    return [(float(centre[0] + x * c - y * s), float(centre[1] + x * s + y * c)) for x, y in points]


def _draw_shape(draw: ImageDraw.ImageDraw, name: str, centre: np.ndarray, r: float, angle: float,
                fill: tuple[int, int, int], background: tuple[int, int, int]) -> None:
    box = [centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r]
    if name == "circle":
        draw.ellipse(box, fill=fill)
    elif name == "ring":
        draw.ellipse(box, outline=fill, width=max(1, int(r * 0.35)))
    elif name == "crescent":
        draw.ellipse(box, fill=fill)
        shift = r * 0.55 * np.array([np.cos(angle), np.sin(angle)])
        draw.ellipse([box[0] + shift[0], box[1] + shift[1], box[2] + shift[0], box[3] + shift[1]], fill=background)
    elif name in ("square", "triangle", "hexagon"):
        sides = {"square": 4, "triangle": 3, "hexagon": 6}[name]
        draw.polygon(_polygon(centre, np.full(sides, r), angle), fill=fill)
    elif name == "star":
        draw.polygon(_polygon(centre, np.tile([r, r * 0.42], 5), angle), fill=fill)
    elif name == "plus":
        w = r * 0.33
        arm = [(-r, -w), (-w, -w), (-w, -r), (w, -r), (w, -w), (r, -w), (r, w), (w, w), (w, r), (-w, r), (-w, w), (-r, w)]
        draw.polygon(_rotated(centre, arm, angle), fill=fill)
    elif name == "arrow":
        w = r * 0.3
        shape = [(-r, -w), (0.1 * r, -w), (0.1 * r, -r * 0.8), (r, 0), (0.1 * r, r * 0.8), (0.1 * r, w), (-r, w)]
        draw.polygon(_rotated(centre, shape, angle), fill=fill)
    elif name == "bars":
        w = r * 0.22
        for offset in (-0.6 * r, 0.0, 0.6 * r):
            bar = [(offset - w / 2, -r), (offset + w / 2, -r), (offset + w / 2, r), (offset - w / 2, r)]
            draw.polygon(_rotated(centre, bar, angle), fill=fill)


def _texture(rng: np.random.Generator, side: int, colour: np.ndarray) -> np.ndarray:
    """A background [side, side, 3] in [0, 1]: the colour modulated by a random gradient, stripes or checks."""
    y, x = np.mgrid[0:side, 0:side] / side
    kind = rng.integers(3)
    angle = rng.uniform(0, np.pi)
    u = x * np.cos(angle) + y * np.sin(angle)
    if kind == 0:
        pattern = u - 0.5
    elif kind == 1:
        pattern = 0.5 * np.sign(np.sin(2 * np.pi * u * rng.uniform(2, 5)))
    else:
        v = -x * np.sin(angle) + y * np.cos(angle)
        freq = rng.uniform(2, 4)
        pattern = 0.5 * np.sign(np.sin(2 * np.pi * u * freq) * np.sin(2 * np.pi * v * freq))
    return np.clip(colour[None, None, :] + rng.uniform(0.05, 0.2) * pattern[..., None], 0, 1)


def render(rng: np.random.Generator, count: int, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    side = image_size * SUPERSAMPLE
    labels = balanced_labels(rng, count, NUM_CLASSES)
    fg, bg = random_colours(rng, count, min_distance=0.45)
    images = np.empty((count, 3, image_size, image_size), np.uint8)
    for index, label in enumerate(labels):
        background = _texture(rng, side, bg[index])
        canvas = Image.fromarray(np.round(background * 255).astype(np.uint8))
        radius = side * rng.uniform(0.25, 0.45)
        centre = side / 2 + rng.uniform(-1, 1, 2) * (side / 2 - radius) * 0.8
        _draw_shape(ImageDraw.Draw(canvas), CLASSES[label], centre, radius, rng.uniform(0, 2 * np.pi), rgb255(fg[index]),
                    rgb255(background.reshape(-1, 3).mean(0)))
        images[index] = np.asarray(canvas.resize((image_size, image_size), Image.Resampling.BOX)).transpose(2, 0, 1)
    return images, labels


@DATASETS.register("shapes", classes=NUM_CLASSES)
def shapes(spec: DatasetSpec, root: Path, download: bool) -> RawData:
    return generated_raw(spec, render, NUM_CLASSES)
