"""Architectures by CLI name: simple-cnn, cnn, resnet, vit (timm), deepsets; sizes "s" and "m" each."""

from fmsbench.models import simple_cnn, cnn, resnet, vit, deepsets  # noqa: F401, I001  (registration, in order)
from fmsbench.models.base import HEAD, HEAD_DROPOUT, MODELS, build_model, head_dropout, head_prefix, sizes_of

__all__ = ["HEAD", "HEAD_DROPOUT", "MODELS", "build_model", "head_dropout", "head_prefix", "sizes_of"]
