# Independent reference for the rater-certification figure a credential depends on (issue 11.6):
# the pooled ICC(A,1) of a rater against the gold rating over six calibration sessions of ten
# items, with its 95 % CI, from psych::ICC ("ICC2": two-way random, absolute agreement, single
# rater; Shrout & Fleiss 1979 / McGraw & Wong 1996). Run from the repository root:
#   Rscript tests/reliability/r/certification_values.R
# Writes tests/reliability/r/certification_values.json. R is never a runtime dependency.
suppressPackageStartupMessages({library(psych)})
here <- "tests/reliability/r"
out <- list(R = R.version.string, psych = as.character(packageVersion("psych")))

# the data of tests/reliability/test_certification_policy.py: GOLD[s][i] = 1 + (3s + 2i) mod 5,
# and a rater one point high (capped at 5) on items 0, 3, 6 and 9 of every session
s <- rep(0:5, each = 10); i <- rep(0:9, times = 6)
gold <- 1 + (3 * s + 2 * i) %% 5
mine <- pmin(5, gold + (i %% 3 == 0))
r <- psych::ICC(cbind(mine, gold), lmer = FALSE)$results
r <- r[r$type == "ICC2", ]
out$one_high_on_every_third_item <- list(icc = r$ICC, lo = r$`lower bound`, hi = r$`upper bound`,
                                         mean_difference = mean(mine - gold),
                                         exact = mean(mine == gold), within_one = mean(abs(mine - gold) <= 1))

writeLines(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "certification_values.json"))
