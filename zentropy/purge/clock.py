""""Now" for content expiry: the wall clock, or the one a test puts in `runtime.extras["clock"]`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

CLOCK = "clock"


def now(runtime: Any) -> datetime:
    clock = runtime.extras.get(CLOCK)
    return clock() if clock is not None else datetime.now(timezone.utc)
