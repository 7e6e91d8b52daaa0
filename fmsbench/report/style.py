"""One look per method in every figure: a distinct colour per method family (registry order, so a method keeps its
colour from report to report), the same colour for its ablations, told apart by the line: a "-nocnn" ablation
dashed, an experiment arm "<method> [<label>]" dotted or dash-dotted."""

from __future__ import annotations

from fmsbench.methods import METHODS

# Distinct on white and for common colour-vision deficiencies as far as 10 go (tab10, grey first for random
# search, the baseline), then darker tones for further families.
PALETTE = ("#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
           "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354")
ABLATION = "-nocnn"
ARM_STYLES = (":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))


def family(method: str) -> str:
    """'fms-gmn-nocnn [transfer]' -> 'fms-gmn'."""
    base = method.partition(" [")[0]
    return base[: -len(ABLATION)] if base.endswith(ABLATION) else base


def families() -> list[str]:
    """Method families in registry order."""
    return list(dict.fromkeys(family(name) for name in METHODS.names()))


def method_styles(methods: list[str]) -> dict[str, dict[str, object]]:
    """matplotlib keyword arguments (color, linestyle) for each of `methods`."""
    known = families()
    others = sorted({family(m) for m in methods} - set(known))
    order = known + others
    labels = sorted({m.partition(" [")[2] for m in methods} - {""})
    styles = {}
    for method in methods:
        base, _, label = method.partition(" [")
        linestyle: object = "--" if base.endswith(ABLATION) else "-"
        if label:
            linestyle = ARM_STYLES[labels.index(label) % len(ARM_STYLES)]
        styles[method] = {"color": PALETTE[order.index(family(method)) % len(PALETTE)], "linestyle": linestyle}
    return styles
