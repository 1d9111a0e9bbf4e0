"""The shipped vignette set covers what a training body needs (issue 3's content rules)."""

from collections import Counter

from ipt_training.content import DISPUTE_STAGES, POPULATIONS, PROBLEM_AREAS, TECHNIQUES

AREA_WORDS = ("grief", "dispute", "transition", "deficit", "impasse", "renegotiation", "dissolution")


def test_at_least_16_vignettes_each_area_primary_three_times(library):
    assert len(library.vignettes) >= 16
    primaries = Counter(v.primary_area for v in library.vignettes.values())
    for area in PROBLEM_AREAS:
        assert primaries[area] >= 3, (area, primaries)


def test_every_dispute_stage_and_population_is_represented(library):
    stages = {a.dispute_stage for v in library.vignettes.values() for a in v.key.problem_areas if a.area == "role_dispute"}
    assert set(DISPUTE_STAGES) <= stages
    assert set(POPULATIONS) <= {v.population for v in library.vignettes.values()}


def test_ranking_matters_and_tempting_wrong_areas(library):
    two_areas = [v.id for v in library.vignettes.values() if len(v.key.problem_areas) >= 2 or v.key.alternatives]
    assert len(two_areas) >= 4
    # a non-death loss that is a transition, not grief: grief listed as not applicable in a transition case
    tempting = [v.id for v in library.vignettes.values() if v.primary_area == "role_transition"
                and any(n.area == "grief" for n in v.key.not_applicable) and v.key.tempting_but_wrong]
    assert len(tempting) >= 2


def test_each_vignette_has_the_four_stages_and_keyed_moments(library):
    for v in library.vignettes.values():
        assert [s.id for s in v.stages][:4] == ["referral", "inventory", "middle", "termination"], v.id
        assert len(v.moments) >= 3
        covered = {a.area for a in v.key.problem_areas} | {n.area for n in v.key.not_applicable}
        assert covered == set(PROBLEM_AREAS), v.id
        for mk in v.key.moments.values():
            assert set(mk.techniques) <= set(TECHNIQUES)


def test_what_trainees_see_before_submitting_does_not_name_the_answer(library):
    for v in library.vignettes.values():
        visible = " ".join([v.id, v.title, v.summary] + [s.text for s in v.stages] + [m.client_statement for m in v.moments]
                           + [r.description for s in v.stages for r in s.relationships]).lower()
        for word in AREA_WORDS:
            assert word not in visible, (v.id, word)
