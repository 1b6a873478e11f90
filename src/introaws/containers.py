"""The task images of ``containers/<name>``: what each Dockerfile puts in its image, read once.

One reading serves the image build (:func:`build_context` assembles the context exactly as the
image expects it), the contract tests (a clean environment holding only the image's packages,
run with its ``ENV``/``WORKDIR``/entry point), and the local cloud, which runs payloads in its
own environment and warns when a payload imports what its image would not hold
(:func:`missing_modules`).
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import introaws

# A checkout's containers/ (``INTROAWS_CONTAINERS_DIR`` names another, e.g. a clone beside an
# installed introaws).
CONTAINERS_DIR = Path(
    os.environ.get("INTROAWS_CONTAINERS_DIR") or Path(introaws.__file__).resolve().parents[2] / "containers"
)
PACKAGE_DIR = Path(introaws.__file__).resolve().parent
# The part of the introaws package each image holds: the payloads, which stand alone.
PACKAGE_PARTS: dict[str, tuple[str, ...]] = {"qa": ("__init__.py", "tasks"), "mnist": ("__init__.py", "tasks")}
# Distributions a base image brings (by repository), beyond Python's standard library.
BASE_PACKAGES: dict[str, tuple[str, ...]] = {"pytorch/pytorch": ("torch", "numpy"), "python": ()}
# pip options that take a value (dropped with it when reading the packages of an install line).
_PIP_VALUE_OPTIONS = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-c", "--constraint"}


@dataclass(frozen=True)
class Image:
    """What ``containers/<name>/Dockerfile`` says about its image."""

    name: str
    base: str  # FROM, e.g. python:3.11-slim
    packages: tuple[str, ...]  # requirement specifiers of its pip install lines
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    copies: tuple[tuple[str, str], ...] = ()  # (context path, image path)
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()

    @property
    def base_packages(self) -> tuple[str, ...]:
        repository = self.base.split(":", 1)[0]
        return BASE_PACKAGES.get(repository, ())

    @property
    def command(self) -> tuple[str, ...]:
        """What the container runs when nothing overrides it (entry point, then command)."""
        return self.entrypoint + self.cmd

    def payload_module(self) -> str | None:
        """The ``python -m MODULE`` the image runs, if it runs one."""
        argv = list(self.command)
        return argv[argv.index("-m") + 1] if "-m" in argv[:-1] else None


def names() -> list[str]:
    return sorted(p.parent.name for p in CONTAINERS_DIR.glob("*/Dockerfile"))


@cache
def read(name: str) -> Image:
    """The image of ``containers/<name>`` (FileNotFoundError outside a checkout of introaws)."""
    args: dict[str, str] = {}
    base, workdir = "", "/"
    packages: list[str] = []
    env: dict[str, str] = {}
    copies: list[tuple[str, str]] = []
    run: dict[str, tuple[str, ...]] = {}  # ENTRYPOINT and CMD
    for instruction, rest in _instructions((CONTAINERS_DIR / name / "Dockerfile").read_text()):
        rest = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), rest)
        if instruction == "FROM":
            base = rest.split()[0]
        elif instruction == "ARG" and "=" in rest:
            key, _, default = rest.partition("=")
            args[key.strip()] = default.strip()
        elif instruction == "ENV":
            env.update(pair.partition("=")[::2] for pair in shlex.split(rest))
        elif instruction == "WORKDIR":
            workdir = rest.strip()
        elif instruction == "COPY":
            *sources, destination = shlex.split(rest)
            copies.extend((source, destination) for source in sources)
        elif instruction in ("ENTRYPOINT", "CMD"):
            run[instruction] = tuple(json.loads(rest))
        elif instruction == "RUN":
            packages.extend(_pip_installed(rest))
    return Image(
        name=name,
        base=base,
        packages=tuple(packages),
        env=env,
        workdir=workdir,
        copies=tuple(copies),
        entrypoint=run.get("ENTRYPOINT", ()),
        cmd=run.get("CMD", ()),
    )


def _instructions(text: str) -> Iterable[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    logical = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not logical:
            continue
        logical += line.rstrip()
        if logical.endswith("\\"):
            logical = logical[:-1] + " "
            continue
        if logical.strip():
            instruction, _, rest = logical.strip().partition(" ")
            yield instruction.upper(), rest.strip()
        logical = ""


def _pip_installed(run: str) -> list[str]:
    """The requirement specifiers of the ``pip install`` commands in a RUN line."""
    lexer = shlex.shlex(run, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in ("&&", ";", "||", "|"):
            commands.append([])
        else:
            commands[-1].append(token)
    found: list[str] = []
    for words in commands:
        if "pip" not in words[:3] or "install" not in words:
            continue
        skip = False
        for word in words[words.index("install") + 1 :]:
            if skip:
                skip = False
            elif word in _PIP_VALUE_OPTIONS:
                skip = True
            elif not word.startswith("-"):
                found.append(word)
    return found


def build_context(name: str, work: Path, data: Mapping[str, Path] | None = None) -> Path:
    """Assemble ``containers/<name>``'s build context in ``work``: its Dockerfile, the part of the
    introaws package the image holds, and the data folders it bakes in (``data``: the folder
    for each other COPY source, e.g. ``{"mnist": mnist_dir}``); returns ``work``."""
    image = read(name)
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONTAINERS_DIR / name / "Dockerfile", work / "Dockerfile")
    for source, _ in image.copies:
        if source == "introaws":
            _copy_package(PACKAGE_PARTS.get(name, ("*",)), work / "introaws")
        elif data and source in data:
            shutil.copytree(data[source], work / source)
        else:
            raise FileNotFoundError(f"containers/{name}/Dockerfile copies {source}, which the build was not given")
    return work


def _copy_package(parts: tuple[str, ...], target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    if parts == ("*",):
        shutil.copytree(PACKAGE_DIR, target, ignore=ignore)
        return
    target.mkdir(parents=True)
    for part in parts:
        source = PACKAGE_DIR / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=ignore)
        else:
            shutil.copy(source, target / part)


# --- what a payload imports that its image would not hold ------------------------------------


@cache
def for_payload(module: str) -> Image | None:
    """The image that runs ``python -m module``, if introaws builds one (and this is a checkout)."""
    try:
        return next((image for image in map(read, names()) if image.payload_module() == module), None)
    except OSError:
        return None


@cache
def outside_image(module: str) -> str | None:
    """A warning when the payload ``module`` imports what its image would not hold (it would
    fail on AWS); None when the image holds all of it, or introaws builds no image for it."""
    image = for_payload(module)
    missing = missing_modules(image, module) if image else ()
    if not image or not missing:
        return None
    return (
        f"introaws local cloud: {module} imports {', '.join(missing)}, which its image "
        f"(containers/{image.name}) would not hold, so on AWS it would fail; "
        f"add it to containers/{image.name}/Dockerfile"
    )


def missing_modules(image: Image, module: str) -> tuple[str, ...]:
    """Modules the payload ``module`` imports (anywhere in its code) that ``image`` would not
    hold: neither the standard library, nor installed there (with what those packages require),
    nor the part of introaws it copies."""
    held = _distribution_modules(image.packages + image.base_packages)
    parts = PACKAGE_PARTS.get(image.name, ("*",))
    missing = set()
    for imported in _imports(module):
        top = imported.split(".")[0]
        if top == "introaws":
            if not _in_package_parts(imported, parts):
                missing.add(imported)
        elif top not in sys.stdlib_module_names and top not in held:
            missing.add(top)
    return tuple(sorted(missing))


def _imports(module: str) -> set[str]:
    """Every module imported by ``module``'s code and by the introaws modules it imports (read
    from the source, so every path counts, and nothing is imported here)."""
    found: set[str] = set()
    seen: set[str] = set()
    pending = [module]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for path, package in _module_files(current, run=current == module):
            for name in _imported_names(path, package):
                if name.startswith("introaws.") and not _module_files(name):
                    name = name.rpartition(".")[0]  # ``from introaws.x import NAME``: NAME is no module
                found.add(name)
                if name.startswith("introaws"):
                    pending.append(name)
    return found


def _module_files(module: str, run: bool = False) -> list[tuple[Path, str]]:
    """The source files of an introaws module (a package's ``__init__``, and its ``__main__``
    when it is the module run), each with the package its relative imports start from."""
    if module != "introaws" and not module.startswith("introaws."):
        return []
    base = PACKAGE_DIR.joinpath(*module.split(".")[1:])
    if base.with_suffix(".py").is_file():
        return [(base.with_suffix(".py"), module.rpartition(".")[0])]
    files = ("__init__.py", "__main__.py") if run else ("__init__.py",)
    return [(base / f, module) for f in files if (base / f).is_file()]


def _imported_names(path: Path, package: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names.add(base)
            if base.startswith("introaws"):  # ``from introaws import paths`` imports introaws.paths
                names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _in_package_parts(module: str, parts: tuple[str, ...]) -> bool:
    if parts == ("*",) or module == "introaws":
        return True
    first = module.split(".")[1]
    return first in parts or f"{first}.py" in parts


def _distribution_modules(requirements: Iterable[str]) -> set[str]:
    """Top-level modules of the distributions named and of everything they require (as
    installed here: the closest this machine can say about the image's)."""
    by_distribution = _modules_by_distribution()
    modules: set[str] = set()
    pending = [_canonical(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in requirements]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        modules |= by_distribution.get(name, set())
        try:
            required = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        pending.extend(_canonical(re.split(r"[<>=!~\[; (]", r, maxsplit=1)[0]) for r in required if "extra ==" not in r)
    return modules


@cache
def _modules_by_distribution() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for top, distributions in importlib.metadata.packages_distributions().items():
        for distribution in distributions:
            found.setdefault(_canonical(distribution), set()).add(top)
    return found


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
