"""Running a long operation while its page is being sent, so the page shows progress.

No script is allowed, so progress is HTML streamed as the work goes. The operations take an
`advance(n)` callback and must run in the thread that owns the vault's database; a greenlet
lets the operation pause at each callback while the response hands the browser a line,
all in that one thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from greenlet import getcurrent, greenlet


@dataclass(frozen=True)
class Step:
    """Progress so far (done of total), or the end: `result` or `error`."""

    done: int
    total: int
    finished: bool = False
    result: Any = None
    error: BaseException | None = None

    @property
    def percent(self) -> int:
        """Whole percent done."""
        return 100 if self.total <= 0 else min(100, self.done * 100 // self.total)


def run_with_progress(
    work: Callable[[Callable[[int], None]], Any], total: int, steps: int = 20
) -> Iterator[Step]:
    """Run work(advance), yielding a Step every 1/steps of `total` and a last one at the end."""
    parent = getcurrent()

    def body() -> tuple[str, Any]:
        return ("done", work(lambda n: parent.switch(("tick", n))))

    child = greenlet(body)
    done, shown = 0, -1
    while True:
        try:
            message: tuple[str, Any] = child.switch()
        except Exception as exc:  # shown on the page, not lost
            yield Step(done, total, True, error=exc)
            return
        kind, value = message
        if kind == "done":
            yield Step(total, total, True, result=value)
            return
        done += int(value)
        bucket = done * steps // total if total > 0 else 0
        if bucket != shown:
            shown = bucket
            yield Step(done, total)
