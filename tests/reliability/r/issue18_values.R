# Independent reference values for three tests that used to take their expected ICC from the
# engine itself (issue 18). Run from the repository root:
#   Rscript tests/reliability/r/issue18_values.R
# Writes tests/reliability/r/issue18_values.json. R (psych) is never a runtime dependency.
suppressPackageStartupMessages({library(psych)})
here <- "tests/reliability/r"
out <- list(R = R.version.string, psych = as.character(packageVersion("psych")))

icc_row <- function(m, type) {
  r <- psych::ICC(m, lmer = FALSE)$results
  r <- r[r$type == type, ]
  list(value = r$ICC, lo = r$`lower bound`, hi = r$`upper bound`)
}

# 1. tests/reliability/test_reliability_report.py `world`: the five double-rated sessions.
#    Totals are the mean of the scored items (Bob's N/A on session 2 left out).
alice <- rbind(c(4, 4, 3, 4), c(2, 3, 2, 2), c(5, 5, 4, 5), c(3, 2, 3, 3), c(1, 2, 1, 2))
bob   <- rbind(c(4, 3, 3, 4), c(2, 2, NA, 2), c(4, 5, 4, 5), c(3, 2, 2, 3), c(2, 2, 1, 1))
totals <- cbind(rowMeans(alice), rowMeans(bob, na.rm = TRUE))
out$world_total <- list(icc1 = icc_row(totals, "ICC1"), icc_a1 = icc_row(totals, "ICC2"))
affect <- cbind(alice[, 2], bob[, 2])
out$world_tech_affect <- list(icc1 = icc_row(affect, "ICC1"))

# 2. tests/reliability/test_calibration.py: a rater against the gold rating over six items,
#    ICC(2,1) (two-way random, absolute agreement, single rater; Shrout & Fleiss 1979).
mine <- c(4, 3, 3, 3, 1, 5)
gold <- c(4, 2, 5, 3, 1, 4)
out$calibration <- list(icc2 = icc_row(cbind(mine, gold), "ICC2"))

# 3. tests/reliability/test_reliability.py::test_rater_pair_matrix: raters A and C on t0..t3.
out$pair_a_c <- list(icc2 = icc_row(cbind(c(1, 2, 3, 4), c(2, 3, 4, 5)), "ICC2"))

writeLines(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "issue18_values.json"))
