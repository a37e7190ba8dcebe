"""Scenarios from what already exists: SUMO's floating car data (``ffsim import sumo``) and a
camera's own recognition configuration (``ffsim import camera``)."""
