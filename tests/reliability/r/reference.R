# Reference values for tests/reliability (issue 11). Run once from the repository root:
#   Rscript tests/reliability/r/reference.R
# Writes tests/reliability/r/reference.json. R is never a runtime dependency.
suppressPackageStartupMessages({library(lme4)})
here <- "tests/reliability/r"
out <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))

# 1. crossed random effects on the rotating design, REML as lme4 fits it
rot <- read.csv(file.path(here, "rotating.csv"))
fit <- lmer(rating ~ 1 + (1 | target) + (1 | rater), data = rot, REML = TRUE)
vc <- as.data.frame(VarCorr(fit))
v <- setNames(vc$vcov, vc$grp)
out$rotating <- list(target = v[["target"]], rater = v[["rater"]], residual = v[["Residual"]],
                     icc_a1 = v[["target"]] / sum(v))

# 2. one-way ANOVA ICC(1,1) with k0 and the F-based CI on unbalanced groups (aov, by hand)
ow <- read.csv(file.path(here, "oneway_unbalanced.csv"))
tab <- summary(aov(rating ~ factor(target), data = ow))[[1]]
msb <- tab[1, "Mean Sq"]; msw <- tab[2, "Mean Sq"]
df1 <- tab[1, "Df"]; df2 <- tab[2, "Df"]
ni <- table(ow$target); N <- sum(ni); a <- length(ni)
k0 <- (N - sum(ni^2) / N) / (a - 1)
Fv <- msb / msw
FL <- Fv / qf(0.975, df1, df2); FU <- Fv * qf(0.975, df2, df1)
out$oneway <- list(icc = (msb - msw) / (msb + (k0 - 1) * msw), k0 = k0,
                   lo = (FL - 1) / (FL + k0 - 1), hi = (FU - 1) / (FU + k0 - 1), F = Fv)

# 3. G study (s:p) x r with the p x r interaction, balanced, REML
g <- read.csv(file.path(here, "gstudy_balanced.csv"))
gfit <- lmer(score ~ 1 + (1 | trainee) + (1 | trainee:session) + (1 | rater) + (1 | trainee:rater),
             data = g, REML = TRUE)
gv <- as.data.frame(VarCorr(gfit))
gv <- setNames(gv$vcov, gv$grp)
out$gstudy <- list(trainee = gv[["trainee"]], session = gv[["trainee:session"]], rater = gv[["rater"]],
                   trainee_x_rater = gv[["trainee:rater"]], residual = gv[["Residual"]])

writeLines(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "reference.json"))
