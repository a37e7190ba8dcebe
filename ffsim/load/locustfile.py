"""The locustfile of ffsim's fleets: ``locust -f $(python -m ffsim.load.locust --path) --ffsim-fleet FLEET``."""

from ffsim.load.locust import CameraUser

__all__ = ["CameraUser"]  # Locust runs the User classes a locustfile holds
