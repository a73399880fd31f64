"""Collects how long each notebook took and prints the times at the end of the run (CI's log)."""
import pytest

NOTEBOOK_SECONDS: dict[str, float] = {}


@pytest.fixture
def record_notebook_time():
    return NOTEBOOK_SECONDS.__setitem__


def pytest_terminal_summary(terminalreporter):
    if NOTEBOOK_SECONDS:
        terminalreporter.section("notebook execution times (quick mode)")
        for name, seconds in sorted(NOTEBOOK_SECONDS.items()):
            terminalreporter.write_line(f"{name}: {seconds:.1f} s")
