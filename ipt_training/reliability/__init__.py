"""Inter-rater reliability: who agrees with whom, how much, and whether a rater may count.

Owns
* the statistics, pure functions on long-format ratings (``target``, ``rater``, ``rating``):
  ICC (:mod:`.icc`), kappas, Krippendorff's alpha, Gwet's AC1 and percent agreement
  (:mod:`.agreement`), their plain-words bands (:mod:`.interpretation`), the summary
  (:mod:`.summary`), rater severity, pair matrix and Bland-Altman (:mod:`.raters`), the G and D
  study (:mod:`.gstudy`), calibration against gold and certification status
  (:mod:`.certification`);
* the ``reliability`` command and its CSV reading (:mod:`.command`);
* the store-facing side: the platform's reliability report (:mod:`.report_data`) and rater
  calibration, certification and drift views (:mod:`.calibration`).
"""

from .agreement import cohen_kappa, fleiss_kappa, gwet_ac1, krippendorff_alpha, percent_agreement
from .certification import calibration_agreement, drift, pooled_agreement, pooled_certification
from .command import cli_reliability
from .gstudy import G_COMPONENTS, d_study, g_study
from .icc import ICC_FORMS, icc, icc_2_1, icc_complete_targets, icc_crossed, icc_oneway
from .interpretation import interpret_alpha, interpret_icc, interpret_kappa
from .long_data import ReliabilityError, validate_long
from .raters import bland_altman, rater_pair_matrix, rater_severity
from .summary import format_summary_table, summarize

__all__ = [
    "ReliabilityError", "validate_long", "ICC_FORMS", "icc", "icc_2_1", "icc_complete_targets",
    "icc_oneway", "icc_crossed",
    "cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1", "percent_agreement",
    "interpret_icc", "interpret_kappa", "interpret_alpha", "summarize", "format_summary_table",
    "cli_reliability", "rater_severity", "rater_pair_matrix", "bland_altman",
    "calibration_agreement", "drift", "pooled_agreement", "pooled_certification",
    "G_COMPONENTS", "g_study", "d_study",
]
