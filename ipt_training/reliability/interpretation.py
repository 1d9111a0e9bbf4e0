"""Plain-words bands for reliability figures: Koo & Li (2016) for ICCs, Landis & Koch (1977) for unweighted kappas, Krippendorff (2004) for alpha.
"""

from __future__ import annotations

from typing import Sequence
from .long_data import _finite_or_none

# A figure that equals a cut-off in exact arithmetic comes out a rounding error either side of it,
# depending on the order of its sums (a report kept up to date, or built at once): bands are decided
# on the figure rounded to this many decimals, far below any shown, far above rounding error.
BAND_DECIMALS = 10


def _settled(value: float | None) -> float | None:
    v = _finite_or_none(value)
    return None if v is None else round(v, BAND_DECIMALS)


def _koo_li_band(x: float) -> str:
    if x < 0.5:
        return "poor"
    if x < 0.75:
        return "moderate"
    if x <= 0.9:
        return "good"
    return "excellent"


def interpret_icc(value: float | None, ci95: Sequence[float | None] | None = None) -> str:
    """Describe an ICC with the Koo & Li (2016) bands, judged on the 95% CI.

    Bands: < .50 poor, .50-.75 moderate, .75-.90 good, > .90 excellent. With a
    CI the label spans the bands of its bounds (e.g. "moderate to good");
    without one the point estimate is used and the label says so.

    References
    ----------
    Koo, T. K., & Li, M. Y. (2016). A guideline of selecting and reporting
    intraclass correlation coefficients for reliability research. Journal of
    Chiropractic Medicine, 15, 155-163.
    """
    lo = hi = None
    if ci95 is not None and len(ci95) == 2:
        lo, hi = _settled(ci95[0]), _settled(ci95[1])
    if lo is not None and hi is not None:
        a, b = _koo_li_band(min(lo, hi)), _koo_li_band(max(lo, hi))
        label = a if a == b else f"{a} to {b}"
        return f"{label} (Koo & Li 2016, judged on the 95% CI)"
    v = _settled(value)
    if v is None:
        return "not available"
    return f"{_koo_li_band(v)} (Koo & Li 2016, point estimate; no CI)"


# Landis & Koch's bands were set for unweighted kappa; weighted kappas and AC1 behave differently
# (quadratic kappa is close to an ICC; AC1 sits higher when one category dominates), so no band.
NO_BENCHMARK = "no benchmark scale (Landis & Koch's bands are for unweighted kappa)"


def interpret_kappa(value: float | None) -> str:
    """Describe an unweighted (Cohen's or Fleiss') kappa with the Landis & Koch (1977) bands.

    Not for weighted kappas or Gwet's AC1: use :data:`NO_BENCHMARK` for those.

    < 0 poor, 0-.20 slight, .21-.40 fair, .41-.60 moderate, .61-.80
    substantial, .81-1 almost perfect.

    References
    ----------
    Landis, J. R., & Koch, G. G. (1977). The measurement of observer agreement
    for categorical data. Biometrics, 33, 159-174.
    """
    v = _settled(value)
    if v is None:
        return "not available"
    if v < 0:
        band = "poor"
    elif v <= 0.20:
        band = "slight"
    elif v <= 0.40:
        band = "fair"
    elif v <= 0.60:
        band = "moderate"
    elif v <= 0.80:
        band = "substantial"
    else:
        band = "almost perfect"
    return f"{band} (Landis & Koch 1977)"


def interpret_alpha(value: float | None) -> str:
    """Describe Krippendorff's alpha with Krippendorff's (2004) cut-offs.

    alpha >= .800 reliable; .667 <= alpha < .800 tentative conclusions only;
    below .667 unreliable.

    References
    ----------
    Krippendorff, K. (2004). Content Analysis: An Introduction to Its
    Methodology (2nd ed.), Sage, p. 241.
    """
    v = _settled(value)
    if v is None:
        return "not available"
    if v >= 0.8:
        band = "reliable"
    elif v >= 0.667:
        band = "tentative conclusions only"
    else:
        band = "unreliable"
    return f"{band} (Krippendorff 2004)"
