"""One clock for stamps compared across processes on this machine."""
from __future__ import annotations

import time

if hasattr(time, "CLOCK_MONOTONIC"):
    def now_ns() -> int:
        """CLOCK_MONOTONIC: the same clock in every process of the machine, never set back."""
        return time.clock_gettime_ns(time.CLOCK_MONOTONIC)
else:  # pragma: no cover - platforms without it (Windows)
    now_ns = time.time_ns
