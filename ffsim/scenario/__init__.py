"""Scenario format v1: a YAML file, YAML text or a Python dict to a validated model."""

from .builder import ScenarioBuilder
from .fleet import Fleet, FleetCamera, FleetError, fleet_from_scenario, fleet_from_text, load_fleet
from .loader import Problem, ScenarioError, load_scenario, scenario_from_dict, scenario_from_text
from .model import Scenario

__all__ = ["load_scenario", "scenario_from_text", "scenario_from_dict", "ScenarioBuilder", "Scenario",
           "ScenarioError", "Problem", "Fleet", "FleetCamera", "FleetError", "load_fleet",
           "fleet_from_text", "fleet_from_scenario"]
