"""The shipped vignette set covers what a training body needs (issue 3's content rules)."""

import re
from collections import Counter

from ipt_training.content import DIFFICULTIES, DISPUTE_STAGES, POPULATIONS, PROBLEM_AREAS, TECHNIQUES

AREA_WORDS = ("grief", "dispute", "transition", "deficit", "impasse", "renegotiation", "dissolution")


def test_at_least_32_vignettes_each_area_primary_and_each_difficulty_six_times(library):
    # issue 12: each problem area is the expert's first focus in >= 6 cases, each difficulty has >= 6
    assert len(library.vignettes) >= 32
    primaries = Counter(v.primary_area for v in library.vignettes.values())
    for area in PROBLEM_AREAS:
        assert primaries[area] >= 6, (area, primaries)
    levels = Counter(v.difficulty for v in library.vignettes.values())
    for level in DIFFICULTIES:
        assert levels[level] >= 6, (level, levels)


def test_focus_is_committed_before_the_middle_stage(library):
    for v in library.vignettes.values():
        ids = [s.id for s in v.stages]
        assert v.focus_commit_after is not None, v.id
        assert ids.index(v.focus_commit_after) < ids.index("middle"), v.id
        # some moments are answered on the stages revealed after the lock
        assert any(ids.index(m.stage) > ids.index(v.focus_commit_after) for m in v.moments), v.id


def test_safety_moments_are_critical(library):
    # the reviewed safety cases: a07 (domestic abuse and the children), c08 (suicidal thoughts)
    critical = {(v.id, m.id) for v in library.vignettes.values() for m in v.moments if m.critical}
    assert {("case-a07", "inventory-after-a-few"), ("case-c08", "referral-not-waking"),
            ("case-c08", "middle-sunday-night")} <= critical


def test_client_names_are_unique_across_cases(library):
    # the referral introduces the client as "Name, age," (optionally with a surname); no other
    # case may use that first name for anyone
    clients = {}
    for v in library.vignettes.values():
        m = re.search(r"\b([A-Z][^\W\d_]+)(?: [A-Z][^\W\d_]+)?, (\d+),", v.stages[0].text)
        assert m, (v.id, "the referral does not introduce the client as 'Name, age,'")
        clients[v.id] = m.group(1)
    assert len(set(clients.values())) == len(clients), Counter(clients.values()).most_common(3)
    texts = {v.id: v.model_dump_json() for v in library.vignettes.values()}
    for vid, name in clients.items():
        elsewhere = [o for o, text in texts.items() if o != vid and re.search(rf"\b{name}\b", text)]
        assert not elsewhere, (vid, name, elsewhere)


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


def test_critical_moments_exist_and_their_key_asks_directly(library):
    # a safety response (suicidal thoughts, a child at risk, violence) starts by asking directly
    critical = [(v, m) for v in library.vignettes.values() for m in v.moments if m.critical]
    assert len({v.id for v, _ in critical}) >= 4
    for v, m in critical:
        assert "direct_elicitation" in v.key.moments[m.id].techniques, (v.id, m.id)
