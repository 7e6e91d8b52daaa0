"""`vit`: timm's VisionTransformer ("An Image is Worth 16x16 Words", Dosovitskiy et al., arXiv 2010.11929) at a
small scale: 4x4 patch grid (patch side = image_size / 4), class token, learned position embeddings; dropout
is timm's `drop_rate` before the head."""

from __future__ import annotations

from timm.models.vision_transformer import VisionTransformer

from fmsbench.models.base import MODELS, size_config

# (embed dim, depth, heads)
SIZES = {"s": (32, 2, 2), "m": (48, 2, 4)}
PATCH_GRID = 4


@MODELS.register("vit", sizes=tuple(SIZES), image_size_multiple=PATCH_GRID,
                 image_size_why=f"a {PATCH_GRID}x{PATCH_GRID} grid of square patches")
def vit(size: str, *, in_channels: int, num_classes: int, image_size: int, dropout: float = 0.0) -> VisionTransformer:
    dim, depth, heads = size_config("vit", SIZES, size)
    if image_size % PATCH_GRID:
        raise ValueError(f"vit needs an image size divisible by {PATCH_GRID}, got {image_size}")
    return VisionTransformer(img_size=image_size, patch_size=image_size // PATCH_GRID, in_chans=in_channels,
                             num_classes=num_classes, embed_dim=dim, depth=depth, num_heads=heads, mlp_ratio=2.0,
                             drop_rate=dropout)
