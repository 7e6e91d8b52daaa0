"""The interface every weight featurizer offers to a jointly trained deep-kernel surrogate, and its registry.

A featurizer is built from one example module per architecture of a hub (``{arch_id: module}``; the weights
are ignored, only structure and sizes are read). Then:

- ``prepare(arch_id, state_dict)``: non-trainable preprocessing of one checkpoint, pure and cacheable (the
  caller caches it per (config, epoch));
- ``featurizer(prepared_list)``: the trainable, batched forward, ``[B, out_dim]`` with ``out_dim`` = 32.

Adding one is one file in this folder and one import line in ``__init__.py``: register its factory with
``@FEATURIZERS.register(name, summary=..., ...)`` and the methods ``fms-<name>`` and ``fms-<name>-nocnn`` exist
(`fmsbench.methods.fms`). Registration metadata:

- ``summary`` (str): what the embedding is, the one line ``fmsbench methods`` shows for ``fms-<name>``;
- ``one_architecture`` (bool, default False): only for hubs of one architecture (``--method all`` skips it
  elsewhere);
- ``advice`` (str, optional): appended to an ``UnsupportedArchitectureError`` raised on a hub it cannot read;
- ``options`` (dict, optional): keyword arguments FMS passes to the factory (e.g. a CPU-sized GMN).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping

from torch import Tensor, nn

from fmsbench.errors import UnknownNameError
from fmsbench.registry import Registry

OUT_DIM = 32


class WeightFeaturizer(nn.Module, ABC):
    """Maps checkpoints of a hub's architectures to ``out_dim``-d vectors; see the module docstring.

    Args:
        example_modules (dict[str, nn.Module]): one module per architecture id of the hub.
        out_dim (int, optional): size of the output features. (default: :obj:`32`)
    """

    def __init__(self, example_modules: Mapping[str, nn.Module], out_dim: int = OUT_DIM) -> None:
        super().__init__()
        if not example_modules:
            raise ValueError("a featurizer needs at least one example module (one per architecture id)")
        self.arch_ids = list(example_modules)
        self.out_dim = out_dim

    def check_arch(self, arch_id: str) -> None:
        if arch_id not in self.arch_ids:
            raise UnknownNameError(
                f"unknown architecture '{arch_id}' for this featurizer; choose one of: {', '.join(self.arch_ids)}")

    @abstractmethod
    def prepare(self, arch_id: str, state_dict: Mapping[str, Tensor]) -> object:
        """Cacheable, non-trainable preprocessing of one checkpoint of architecture `arch_id`."""

    @abstractmethod
    def forward(self, prepared: list[object]) -> Tensor:
        """Features ``[len(prepared), out_dim]`` of prepared checkpoints (any mix of architectures allowed)."""


FeaturizerFactory = Callable[..., WeightFeaturizer]  # (example_modules, **options) -> WeightFeaturizer
FEATURIZERS: Registry[FeaturizerFactory] = Registry("featurizer", entry_points="fmsbench.featurizers")
