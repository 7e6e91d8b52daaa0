"""fmsbench: build model hubs, replay checkpoint-aware HPO methods over them, report Kendall's tau and regret."""

import warnings

from fmsbench.version import __version__

__all__ = ["__version__"]

# torch-geometric and gpytorch still call torch.jit.script at import; the deprecation is theirs to fix, and
# printing it above every command's output helps no user.
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
