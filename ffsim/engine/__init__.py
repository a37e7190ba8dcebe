"""Sans-I/O engine: a validated scenario in, the camera's events out, in send order."""

from .loop import Engine, simulate
from .vehicle import LOST, NEW, UPDATE, Event, Passage, Vehicle

__all__ = ["Engine", "simulate", "Event", "Passage", "Vehicle", "NEW", "UPDATE", "LOST"]
