"""Scenario format v1: YAML file to validated model."""

from .loader import Problem, ScenarioError, load_scenario
from .model import Scenario

__all__ = ["load_scenario", "Scenario", "ScenarioError", "Problem"]
