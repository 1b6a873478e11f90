"""Every printed text is literal: text from users or AWS that looks like rich markup
(``[/x]``, ``[bold]x[/bold]``) is printed as it is, on every render path, never interpreted."""

from __future__ import annotations

import sys

import pytest

from introaws.cli import render
from introaws.progress import Event
from test_errors import ddb_up, one_error_line  # noqa: F401 (ddb_up is a fixture)

TRICKY = ("[/x]", "[bold]x[/bold]", "[#/InstanceType: expected one of [t3.micro]]")


@pytest.mark.parametrize("text", TRICKY)
def test_every_render_path_prints_the_text_as_it_is(text, capsys):
    render.use(sys.stdout, sys.stderr)  # capsys's streams
    render.note(text)
    render.success(text)
    render.warning(text)
    render.error_line(text)
    render.key_values({text: text})
    render.table(text, [text], [[text], [None]])
    render.lines([text])
    for kind in ("step", "info", "warning", "status"):
        render._render_event(Event(kind, text, {"elapsed": 1.0}))
    render._render_event(
        Event("resource", text, {"logical_id": text, "type": text, "status": "CREATE_FAILED", "reason": text})
    )
    with render.live_table(text, [text]) as update:
        update([[text]])
    render.heatmap(text, text, [text], [text], [[0.5]])
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    # 11 on stderr + the live table (2: title, cell) + 3 key/table/lines + heat-map's title/labels
    assert printed.count(text) >= 20, printed


def test_a_bracketed_cloud_name_is_one_literal_error_line(cli):
    assert "unknown cloud '[/x]'" in one_error_line(cli("--cloud", "[/x]", "status"))
    assert "unknown cloud '[bold]mars'" in one_error_line(cli("--cloud", "[bold]mars", "status"))


@pytest.mark.usefixtures("ddb_up")
def test_a_bracketed_item_id_is_one_literal_error_line(cli):
    assert "no item with item_id '[/x]'" in one_error_line(cli("ddb", "get", "[/x]"))


def test_a_bracketed_key_name_is_refused_literally(cli, home):
    assert "'[bold]k' cannot name a key pair" in one_error_line(cli("keypair", "create", "[bold]k"))
    assert not (home / "ssh" / "[bold]k.pem").exists()


def test_key_values_line_up_japanese_keys_by_their_width_on_screen(capsys):
    """A Japanese key takes two cells a character: values start in one column all the same."""
    from rich.cells import cell_len

    render.use(sys.stdout, sys.stderr)
    render.key_values({"スタック": "a", "ステータス": "b", "TableName": "c"})
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 3
    assert len({cell_len(row) for row in rows}) == 1, rows  # each value is one cell wide
