"""Every bundled scenario runs to its end and the objects reach the end state it declares."""

from __future__ import annotations

import pytest

from deploy_assistant.models import FailureClass, FailureRule
from deploy_assistant.sim import Simulator, end_state_mismatches, list_scenarios, load_scenario

SPEED = 400.0
NAMES = list_scenarios()


@pytest.mark.parametrize("name", NAMES)
def test_scenario_reaches_its_declared_end_state(name: str) -> None:
    scenario = load_scenario(name)
    with Simulator(scenario, speed=SPEED) as sim:
        sim.run_until(scenario.duration_seconds)
        problems = end_state_mismatches(sim.state, sim.ctx.index, scenario)
        errors = list(sim.engine.errors)
    assert errors == []
    assert problems == []


@pytest.mark.parametrize("name", NAMES)
def test_scenario_expectation_uses_the_diagnosis_vocabulary(name: str) -> None:
    expect = load_scenario(name).expect
    if expect.verdict == "FAILED":
        assert expect.rule in {rule.value for rule in FailureRule}
        assert expect.failure_class in {kind.value for kind in FailureClass}
        assert expect.family
        assert expect.evidence
    else:
        assert expect.rule is None


def test_bundle_covers_the_failure_and_slow_but_healthy_corpora() -> None:
    scenarios = [load_scenario(name) for name in NAMES]
    families = {s.expect.family for s in scenarios if s.expect.verdict == "FAILED"}
    healthy = [s for s in scenarios if s.expect.verdict in ("SUCCEEDED", "PAUSED")]
    verdicts = {s.expect.verdict for s in scenarios}
    assert len(scenarios) >= 30
    assert len(families) >= 15
    assert len(healthy) >= 12
    assert verdicts >= {"SUCCEEDED", "FAILED", "SUPERSEDED", "PAUSED"}
    assert max(s.duration_seconds for s in scenarios) <= 600


def test_load_scenario_rejects_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="No scenario named"):
        load_scenario("no-such-scenario")
