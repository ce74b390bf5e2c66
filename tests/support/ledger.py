"""What the reliability and security tests survived, summed for the one-screen summary that
`tests/conftest.py` prints at the end of the run."""

from __future__ import annotations

from collections import Counter

LEDGER: Counter[str] = Counter()


def record(**counts: int) -> None:
    """E.g. record(faults=1), record(inputs=200), record(lost=0, sent=90)."""
    for k, v in counts.items():
        LEDGER[k] += v
