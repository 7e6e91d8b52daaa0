"""One look per method: distinct colours per family, an ablation in its family's colour but dashed."""

from __future__ import annotations

from fmsbench.methods import METHODS
from fmsbench.report.style import family, method_styles


def test_every_family_has_its_own_colour_and_ablations_share_it() -> None:
    names = METHODS.names()
    styles = method_styles(names)
    families = {family(name) for name in names}
    assert len({styles[name]["color"] for name in names}) == len(families) >= 9
    for name in names:
        if name.endswith("-nocnn"):
            assert styles[name]["color"] == styles[family(name)]["color"] and styles[name]["linestyle"] == "--"
        else:
            assert styles[name]["linestyle"] == "-"


def test_colours_do_not_depend_on_which_methods_a_report_has() -> None:
    assert method_styles(["fms-gmn"])["fms-gmn"] == method_styles(METHODS.names())["fms-gmn"]
    arms = method_styles(["fms-gmn", "fms-gmn [transfer]", "fms-gmn [transfer, vit held out]"])
    assert len({a["color"] for a in arms.values()}) == 1 and len({str(a["linestyle"]) for a in arms.values()}) == 3
