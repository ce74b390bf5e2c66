"""The one-screen summary printed at the end of the suite: faults survived, inputs tried, lost, leaked."""

from __future__ import annotations

import pytest

from tests.support.ledger import LEDGER


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fault: a test that injects a fault into real processes")


# Tests elsewhere that inject a fault into a real process (besides those marked `fault`).
FAULTS = ("sigterm", "broker_is_down", "providers_are_down", "router_restart", "crash", "killed")
# Tests that look for an identity, a phone number or a secret where it must not be.
LEAK_CHECKS = ("test_masking.py", "no_phone_number", "secrets", "no_identity", "reporter", "nothing_private")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    if report.passed and ("fault" in report.keywords or any(w in report.nodeid for w in FAULTS)):
        LEDGER["faults"] += 1
    if any(w in report.nodeid for w in LEAK_CHECKS):
        LEDGER["leak_checks"] += 1
        if report.failed:
            LEDGER["leaked"] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tr = terminalreporter
    tr.section("hotline reliability and security summary")
    tr.write_line(f"faults survived (real processes: broker, PostgreSQL, routers, providers): {LEDGER['faults']}")
    tr.write_line(f"hostile or generated inputs tried (parsers, OpenAPI):                     {LEDGER['inputs']}")
    tr.write_line(f"messages sent through faults: {LEDGER['sent']}   lost = {LEDGER['lost']}   "
                  f"duplicated = {LEDGER['duplicated']}")
    tr.write_line(f"identities or secrets leaked (responses, exports, logs checked: {LEDGER['leak_checks']}): "
                  f"leaked = {LEDGER['leaked']}")
