"""Scenario format v1: a YAML file, YAML text or a Python dict to a validated model."""

from .builder import ScenarioBuilder
from .loader import Problem, ScenarioError, load_scenario, scenario_from_dict, scenario_from_text
from .model import Scenario

__all__ = ["load_scenario", "scenario_from_text", "scenario_from_dict", "ScenarioBuilder", "Scenario",
           "ScenarioError", "Problem"]
