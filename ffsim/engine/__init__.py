"""Sans-I/O engine: a validated scenario in, the camera's events out, in send order."""

from ..vocabulary import LOST, NEW, RELIABLE, STATE_RANK, UPDATE
from .loop import Engine, simulate
from .vehicle import Event, Passage, Vehicle

__all__ = ["Engine", "simulate", "Event", "Passage", "Vehicle", "NEW", "UPDATE", "RELIABLE", "LOST", "STATE_RANK"]
