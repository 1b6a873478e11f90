"""The CLI in Japanese: the catalog covers every message, nothing English slips in unwrapped,
and each run speaks the language its environment asks for (JSON never changes)."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from conftest import ROOT, cli_env, run_cli, run_exe
from introaws import i18n

PACKAGE = ROOT / "src" / "introaws"
PO = PACKAGE / "locale" / "ja" / "LC_MESSAGES" / "introaws.po"
# A str.format field: {name}, {name!r}, {name:.2f}
PLACEHOLDER = re.compile(r"\{(\w+)(?:![rsa])?(?::[^{}]*)?\}")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _extracted() -> set[str]:
    """The msgids ``pybabel extract -F babel.cfg`` finds, as the translator's workflow runs it."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, *_rest in extract_from_dir(str(ROOT), method_map, options_map)
    }


def _catalog():
    with open(PO, "rb") as handle:
        return read_po(handle, locale="ja")


def test_the_catalog_translates_every_message_with_its_placeholders():
    catalog = _catalog()
    translated = {m.id: m for m in catalog if m.id}
    problems = []
    for msgid in sorted(_extracted()):
        entry = translated.get(msgid)
        if entry is None or not entry.string:
            problems.append(f"no translation: {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(entry.string)):
            problems.append(f"placeholders differ: {msgid!r} -> {entry.string!r}")
    assert not problems, "\n".join(problems) + "\n(see docs/translating.md)"


def test_the_shipped_mo_is_the_compiled_po():
    with open(PO.with_suffix(".mo"), "rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    expected = {m.id: m.string for m in _catalog() if m.id and m.string and not m.fuzzy}
    assert {k: v for k, v in compiled.items() if k} == expected, "run: pybabel compile (docs/translating.md)"


# --- nothing English slips in unwrapped -----------------------------------------------------

# Where a message is made, by the callee's name: the positions and keywords that take text.
RENDER_FIRST = {"note", "success", "warning", "error_line", "confirm", "prompt"}
RENDER_TWO = {"table", "live_table", "heatmap"}
UNTRANSLATED = ("localcloud", "tasks")  # they speak AWS's English (docs/translating.md)


def _error_classes(trees: list[ast.Module]) -> set[str]:
    names = {"IntroawsError"}
    bases = {
        node.name: {b.id for b in node.bases if isinstance(b, ast.Name)}
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }
    while grown := {name for name, parents in bases.items() if parents & names} - names:
        names |= grown
    return names


def _texts(call: ast.Call, errors: set[str]) -> list[ast.expr]:
    """The arguments of ``call`` that are shown to a user."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    args, keywords = call.args, {k.arg: k.value for k in call.keywords}
    found: list[ast.expr] = [keywords[k] for k in ("help", "message", "hint") if k in keywords]
    if name == "progress" and "description" in keywords:
        found.append(keywords["description"])
    if name in errors:
        found += args[:2]
    elif name == "Event":
        found += args[1:2]
    elif name in RENDER_FIRST:
        found += args[:1]
    elif name in RENDER_TWO:
        for arg in args[:2]:
            found += arg.elts if isinstance(arg, ast.List) else [arg]
    elif name == "key_values" and args and isinstance(args[0], ast.Dict):
        found += [k for k in args[0].keys if k is not None]
    return found


def _literals(node: ast.expr) -> list[ast.expr]:
    """English text written in place: a string (or f-string) with letters outside its fields,
    also inside ``a if c else b``, ``a or b`` and ``a + b``; a call (``_()``) is not one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node] if re.search("[A-Za-z]", PLACEHOLDER.sub("", node.value)) else []
    if isinstance(node, ast.JoinedStr):
        words = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        return [node] if re.search("[A-Za-z]", words) else []
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [bad for value in node.values for bad in _literals(value)]
    if isinstance(node, ast.BinOp):
        return _literals(node.left) + _literals(node.right)
    return []


def unwrapped(paths: list[Path]) -> list[str]:
    trees = {path: ast.parse(path.read_text(), str(path)) for path in paths}
    errors = _error_classes([ast.parse(p.read_text()) for p in PACKAGE.rglob("*.py")])
    found = []
    for path, tree in trees.items():
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                found += [f"{where}:{bad.lineno}" for text in _texts(node, errors) for bad in _literals(text)]
            if isinstance(node, ast.JoinedStr) and any(_is_gettext(inner) for inner in ast.walk(node)):
                found.append(f"{where}:{node.lineno}: _() inside an f-string (Babel cannot extract it there)")
            if isinstance(node, ast.FunctionDef) and ast.get_docstring(node) and _is_command(node):
                found.append(f"{where}:{node.lineno}: a command's docstring (use help=N_(...))")
    return found


def _is_gettext(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")


def _is_command(function: ast.FunctionDef) -> bool:
    """Typer reads a command's help from its docstring, where gettext cannot reach it."""
    return any(
        isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ("command", "callback")
        for d in function.decorator_list
    )


def test_every_message_is_wrapped_for_translation():
    paths = [p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in UNTRANSLATED]
    assert not unwrapped(paths), "wrap these in _() or N_():\n" + "\n".join(unwrapped(paths))


def test_the_guard_finds_an_unwrapped_message(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from introaws.i18n import _\n"
        "raise UsageError(f'no stack {name}', _('run up'))\n"
        "report(Event('step', 'deploying' if a else _('done')))\n"
        "render.table(None, [_('stack'), 'status'], rows)\n"
        "render.note(f'{done}/{total}')\n"  # no words: nothing to translate
        "line = f\"{_('missing')}\"\n"
    )
    assert sorted(line.split(":")[1] for line in unwrapped([sample])) == ["2", "3", "4", "6"]


# --- the language of a run ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "language"),
    [
        ({}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LC_ALL": "ja_JP.UTF-8", "LANG": "C.UTF-8"}, "ja"),
        ({"LC_ALL": "", "LC_MESSAGES": "C", "LANG": "ja_JP.UTF-8"}, "en"),  # the first one set decides
        ({"INTROAWS_LANG": "en", "LANG": "ja_JP.UTF-8"}, "en"),
        ({"INTROAWS_LANG": "ja", "LC_ALL": "C"}, "ja"),
    ],
)
def test_the_language_comes_from_the_environment(variables, language):
    assert i18n.language(variables) == language


def _env(home: Path, **variables: str) -> dict[str, str]:
    return cli_env(home, **variables)


def test_help_speaks_the_locale_of_each_run(home):
    japanese = run_cli(home, "--help", env=_env(home, LANG="ja_JP.UTF-8"))
    assert "『コードで学ぶAWS入門』のハンズオン" in japanese.out
    assert "ハンズオン用のデータセット" in japanese.out  # a group's help line
    assert "introaws がターゲットに作ったすべてのスタック" in japanese.out  # a root command's
    assert "リージョン（ローカルの既定は ap-northeast-1）" in japanese.out  # an option's
    qa = run_cli(home, "qa", "--help", env=_env(home, LANG="ja_JP.UTF-8"))
    assert "QA ボットハンズオン" in qa.out and "保存された回答を新しい順に表示します" in qa.out
    # the next run in this process, in English: exactly the English help, no Japanese left over
    english = run_cli(home, "qa", "--help", env=_env(home, LANG="C.UTF-8"))
    assert "Saved answers, newest first." in english.out and not JAPANESE.search(english.out)
    forced = run_cli(home, "qa", "ask", "--help", env=_env(home, LANG="ja_JP.UTF-8", INTROAWS_LANG="en"))
    assert "Seconds to wait for the task." in forced.out and not JAPANESE.search(forced.out)


def test_an_error_is_one_japanese_line(home):
    result = run_cli(home, "--cloud", "mars", "status", env=_env(home, LANG="ja_JP.UTF-8"))
    assert result.code != 0
    assert result.err == "error: 不明なクラウド 'mars' です（--cloud local または --cloud aws を使ってください）\n"
    english = run_cli(home, "--cloud", "mars", "status", env=_env(home, LC_ALL="C.UTF-8", LANG="ja_JP.UTF-8"))
    assert english.err == "error: unknown cloud 'mars' (use --cloud local or --cloud aws)\n"


def test_the_real_executable_speaks_japanese(home):
    result = run_exe(home, "--cloud", "mars", "status", env=_env(home, LANG="ja_JP.UTF-8"), timeout=120)
    assert result.code != 0 and result.err.startswith("error: 不明なクラウド 'mars' です"), result.err
    assert len(result.err.splitlines()) == 1


def test_ddb_explains_in_japanese_and_its_json_does_not_change(home, ddb_stack):
    missing = run_cli(home, "ddb", "get", "no-such-id", env=_env(home, LANG="ja_JP.UTF-8"))
    assert missing.code != 0
    assert missing.err == (
        "error: item_id が 'no-such-id' の項目はありません（'introaws ddb scan' で ID を一覧してください）\n"
    )
    english = run_cli(home, "ddb", "get", "no-such-id", env=_env(home, LANG="C.UTF-8"))
    assert english.err == "error: no item with item_id 'no-such-id' (list ids with 'introaws ddb scan')\n"
    status = {lang: run_cli(home, "ddb", "status", "--json", env=_env(home, LANG=lang)) for lang in LOCALES}
    assert status["ja_JP.UTF-8"].code == 0 and status["ja_JP.UTF-8"].out == status["C.UTF-8"].out
    assert status["ja_JP.UTF-8"].json()["status"].endswith("_COMPLETE")


LOCALES = ("ja_JP.UTF-8", "C.UTF-8")
