"""Frame clock: recognitions happen on frames at t = k / fps, in integer microseconds."""

from __future__ import annotations

from fractions import Fraction


class FrameClock:
    """Frame k is at floor(k * 10^6 / fps) microseconds after virtual t=0."""

    __slots__ = ("_num", "_den_us", "period_us", "fps_fraction")

    def __init__(self, fps: Fraction):
        self._num = fps.numerator
        self._den_us = fps.denominator * 1_000_000
        self.period_us = self._den_us / self._num
        # (fps numerator, fps denominator * 10^6): floor(t) is ((int(t) + 1) * num - 1) // den_us
        self.fps_fraction = (self._num, self._den_us)

    def time(self, k: int) -> int:
        return (k * self._den_us) // self._num

    def floor(self, t: float) -> int:
        """The last frame at or before t."""
        whole = int(t // 1)
        return ((whole + 1) * self._num - 1) // self._den_us

    def ceil(self, t: float) -> int:
        """The first frame at or after t."""
        k = self.floor(t)
        return k if self.time(k) >= t else k + 1

    def after(self, t: float) -> int:
        """The first frame strictly after t."""
        return self.floor(t) + 1
