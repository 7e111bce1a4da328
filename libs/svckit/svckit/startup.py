"""Process start: a bad setting or an unreachable dependency ends the process with one clear line."""
from __future__ import annotations

import sys
from collections.abc import Callable

from svckit.config import SettingError


class DependencyError(Exception):
    """Something the process needs (database, broker) cannot be reached; str() is one line."""


def run_main(service: str, main: Callable[[], None]) -> None:
    try:
        main()
    except (SettingError, DependencyError) as error:
        print(f"{service}: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
