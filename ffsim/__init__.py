"""ffsim: the camera side of CAMMRA / AXIS License Plate Verifier FF-Events, simulated."""

__version__ = "0.1.0"
