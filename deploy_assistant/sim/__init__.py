"""Offline Kubernetes cluster simulator: scenario timelines served over a loopback API.

`Simulator(load_scenario("crash-loop"), speed=100.0)` runs a scenario's cluster model
(Deployment and ReplicaSet controllers, scheduler, autoscaler, kubelets) on a virtual clock that
the tool shares.
"""

from deploy_assistant.sim.end_state import end_state_mismatches
from deploy_assistant.sim.engine import Engine, SimClock
from deploy_assistant.sim.scenario import Scenario, list_scenarios, load_scenario
from deploy_assistant.sim.simulator import Simulator

__all__ = [
    "Engine",
    "Scenario",
    "SimClock",
    "Simulator",
    "end_state_mismatches",
    "list_scenarios",
    "load_scenario",
]
