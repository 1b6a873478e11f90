"""Bad input: one line on stderr that says what to do, a non-zero exit, nothing changed."""

from __future__ import annotations

import pytest


def one_error_line(result) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert result.code != 0
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error:"), result.err
    assert "Traceback" not in result.err
    return lines[0]


@pytest.fixture(scope="module")
def ddb_up(ddb_stack):
    return ddb_stack


@pytest.mark.parametrize(
    "args, expected",
    [
        (("ddb", "write", "-5"), "x>=1"),
        (("ddb", "write", "0"), "x>=1"),
        (("ddb", "write", "abc"), "valid integer"),
        (("ddb", "search", "--under-age", "-1"), "--under-age"),
    ],
)
def test_bad_numbers(ddb_up, cli, args, expected):
    result = cli(*args)
    line = one_error_line(result)
    assert expected in line and "--help" in line
    assert result.code == 2


def test_unknown_cloud(cli):
    line = one_error_line(cli("--cloud", "mars", "ddb", "status"))
    assert "mars" in line and "--cloud local" in line


def test_get_missing_item(ddb_up, cli):
    result = cli("ddb", "get", "no-such-id")
    line = one_error_line(result)
    assert "no-such-id" in line and "ddb scan" in line
    assert result.code == 3


def test_not_deployed_says_run_up(fresh_home):
    from conftest import run_cli

    line = one_error_line(run_cli(fresh_home, "ddb", "scan"))
    assert "introaws ddb up" in line


def test_debug_shows_traceback(ddb_up, cli):
    result = cli("--debug", "ddb", "get", "no-such-id")
    assert result.code != 0 and "Traceback" in result.err


def test_delete_refuses_without_yes_when_not_interactive(ddb_up, cli):
    line = one_error_line(cli("ddb", "down"))
    assert "--yes" in line
    assert cli("ddb", "status", "--json").json()["status"] == "CREATE_COMPLETE"


def test_down_all_needs_all(cli):
    line = one_error_line(cli("down"))
    assert "--all" in line
