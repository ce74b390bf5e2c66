"""The one-screen summary printed at the end of the suite: faults survived, inputs tried, lost, leaked."""

from __future__ import annotations

import pytest

from tests.support.ledger import LEDGER


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fault: a test that injects a fault into real processes")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and "fault" in report.keywords:
        LEDGER["faults"] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tr = terminalreporter
    tr.section("hotline reliability and security summary")
    tr.write_line(f"faults survived (real processes: broker, PostgreSQL, routers, providers): {LEDGER['faults']}")
    tr.write_line(f"hostile or generated inputs tried (parsers, OpenAPI):                     {LEDGER['inputs']}")
    tr.write_line(f"messages sent through faults: {LEDGER['sent']}   lost = {LEDGER['lost']}   "
                  f"duplicated = {LEDGER['duplicated']}")
    tr.write_line(f"identities or secrets leaked (responses, exports, logs checked: {LEDGER['leak_checks']}): "
                  f"leaked = {LEDGER['leaked']}")
