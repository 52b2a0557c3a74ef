"""The README a newcomer reads: its first screen says how to start, every command it names exists,
every flag it names is one its command lists in ``--help``, and every file it links to is in the
repository.  The README stands on its own in a clone (nothing outside the repository) and fits a
sitting (at most 260 lines)."""

from __future__ import annotations

import configparser
import functools
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from podlife.paths import REPO

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
FIRST_SCREEN = 40
MAX_LINES = 260

# The entry points whose flags the README may name, and how to ask each for its flags.
PYTEST = "pytest scenarios"  # `tox -e lifecycle|scratch -- ...` passes its arguments to pytest
PROFILE = "python -m podlife profile"  # `tox -e profile -- ...` passes its arguments here
CLUSTER = "python -m podlife cluster"
PODLIFE = "python -m podlife"
HELP: dict[str, list[str]] = {
    PYTEST: ["-m", "pytest", "scenarios", "--help", "-p", "no:cacheprovider"],
    PROFILE: ["-m", "podlife", "profile", "--help"],
    CLUSTER: ["-m", "podlife", "cluster", "--help"],
    PODLIFE: ["-m", "podlife", "--help"],
}
TOX_ENV_ENTRY = {"lifecycle": PYTEST, "scratch": PYTEST, "profile": PROFILE}

# A flag the README names on its own (`--runs N`), with no command before it: whose it is.
BARE_FLAGS: dict[str, tuple[str, ...]] = {
    "--claim": (PYTEST,),
    "--runs": (PYTEST,),
    "--pod-manifest": (PYTEST,),
    "--keep-failed": (PYTEST,),
    "--store-durations": (PYTEST,),
    "--probe-image": (PYTEST,),
    "--reports": (PYTEST, PROFILE),
    "-n": (PYTEST, PROFILE),
    "--kubeconfig": (PYTEST, PROFILE),
    "--allow-node-disruption": (PYTEST, PROFILE),
    "--allow-privileged-subject": (PYTEST, PROFILE),
    "--no-node-loss": (PROFILE,),
    "--feature-gates": (PYTEST, PROFILE),
    "--runtime": (PYTEST, PROFILE),
}
# Commands of other tools: their flags are theirs, not podlife's.
OTHER_TOOLS = {
    "apt-get",
    "bash",
    "docker",
    "git",
    "kind",
    "kubectl",
    "pip",
    "pipx",
    "rm",
    "systemctl",
    "tail",
}
FLAG = re.compile(r"^--?[A-Za-z][\w-]*")
SEPARATORS = re.compile(r"\$\(|&&|\|\||[|;()]")
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def readme() -> str:
    return README.read_text()


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block."""
    return re.findall(r"^ *```(\w*)\n(.*?)^ *```", text, flags=re.S | re.M)


def commands(text: str) -> list[str]:
    """Every command the README shows: each line of a shell block, and every inline code span."""
    found: list[str] = []
    for language, body in code_blocks(text):
        if language in ("", "bash", "sh", "console"):
            found += [line.split(" #")[0].strip() for line in body.splitlines()]
    prose = re.sub(r"^ *```.*?^ *```", "", text, flags=re.S | re.M)
    found += re.findall(r"`([^`\n]+)`", prose)
    return [c for c in found if c]


def segments(command: str) -> list[list[str]]:
    """A command split at pipes, `&&`, `;` and `$(`, each part as words without leading VAR=value."""
    parts = []
    for part in SEPARATORS.split(command):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        while words and ENV_ASSIGNMENT.match(words[0]):
            words.pop(0)
        if words:
            parts.append(words)
    return parts


def flags_of(words: list[str]) -> list[str]:
    return [m.group(0) for w in words if (m := FLAG.match(w))]


def entry_and_flags(words: list[str]) -> tuple[str | None, list[str]]:
    """Whose flags a command's words carry: (entry point, flags), (None, []) for another tool's."""
    tool = Path(words[0]).name
    if tool in OTHER_TOOLS:
        return None, []
    if tool == "tox":
        if "--" not in words:
            return None, []  # tox's own options
        env = words[words.index("-e") + 1] if "-e" in words else ""
        passed = flags_of(words[words.index("--") + 1 :])
        return (TOX_ENV_ENTRY.get(env, f"tox -e {env} --"), passed) if passed else (None, [])
    if tool == "pytest" and words[1:2] == ["scenarios"]:
        return PYTEST, flags_of(words[2:])
    if re.fullmatch(r"python[\d.]*", tool) and words[1:2] == ["-m"] and len(words) > 2:
        return python_module(words[2], words[3:])
    if FLAG.match(words[0]):
        return "bare", flags_of(words[:1])
    flags = flags_of(words[1:])
    return (f"unclassified: {' '.join(words)}", flags) if flags else (None, [])


def python_module(module: str, args: list[str]) -> tuple[str | None, list[str]]:
    """``python -m MODULE ARGS``: podlife's entry points by area; another project module with flags
    is unclassified (this test must learn it); anything else (``venv``, ``pip``) is another tool's."""
    if module == "podlife":
        area = {"profile": PROFILE, "cluster": CLUSTER}.get(args[0] if args else "", PODLIFE)
        return area, flags_of(args)
    if module == "pytest" and args[:1] == ["scenarios"]:
        return PYTEST, flags_of(args[1:])
    if module.split(".")[0] in {"podlife", "bench", "service", "pytest"} and flags_of(args):
        return f"unclassified: python -m {module}", flags_of(args)
    return None, []


def owners(entry: str, flag: str) -> tuple[str, ...]:
    if entry != "bare":
        return (entry,)
    return BARE_FLAGS.get(flag, (f"bare flag {flag} (add it to BARE_FLAGS)",))


def named_flags(text: str) -> dict[str, set[str]]:
    """Entry point -> the flags the README names for it."""
    named: dict[str, set[str]] = {}
    for command in commands(text):
        for words in segments(command):
            entry, flags = entry_and_flags(words)
            if entry is None:
                continue
            for flag in flags:
                for owner in owners(entry, flag):
                    named.setdefault(owner, set()).add(flag)
    return named


@functools.cache
def help_text(entry: str) -> str:
    result = subprocess.run(
        [sys.executable, *HELP[entry]], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"`{entry} --help` failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def lists(help_output: str, flag: str) -> bool:
    return re.search(rf"(^|[\s,\[]){re.escape(flag)}(?=[\s=,\]]|$)", help_output, flags=re.M) is not None


def test_the_first_screen_says_how_to_start() -> None:
    first = readme().splitlines()[:FIRST_SCREEN]
    screen = "\n".join(first)
    assert "tox -e lifecycle" in screen
    assert "tox -e profile" in screen
    bare_tox = [line for line in first if re.fullmatch(r"\s*(\$ )?tox(\s+#.*)?", line)]
    assert bare_tox, f"no line with `tox` alone as a command in the first {FIRST_SCREEN} lines"


def test_every_tox_env_named_exists() -> None:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(REPO / "tox.ini")
    envs = {s.removeprefix("testenv:") for s in ini.sections() if s.startswith("testenv:")}
    named = set(re.findall(r"\btox -e ([\w-]+)", readme()))
    assert named, "the README names no tox environment"
    assert named <= envs, f"not in tox.ini: {sorted(named - envs)}"


def test_commands_are_classified() -> None:
    """A flag whose command this test does not know is an error, not a pass: say whose it is."""
    named = named_flags(readme())
    unknown = {entry: flags for entry, flags in named.items() if entry not in HELP}
    assert not unknown, unknown


@pytest.mark.parametrize("entry", [PYTEST, PROFILE, CLUSTER, PODLIFE])
def test_every_flag_named_is_in_its_help(entry: str) -> None:
    flags = named_flags(readme()).get(entry, set())
    if not flags:
        return
    missing = sorted(f for f in flags if not lists(help_text(entry), f))
    assert not missing, f"the README names {missing} for `{entry}`, which its --help does not list"


def test_the_flags_are_found() -> None:
    """The parser above finds what the README names (so the flag tests cannot pass by finding none)."""
    named = named_flags(readme())
    assert {"--claim", "--runs", "--pod-manifest", "--kubeconfig"} <= named.get(PYTEST, set())
    assert named.get(PROFILE), "no flag found for the profile"


@pytest.mark.parametrize("doc", [README, *DOCS], ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_exists(doc: Path) -> None:
    text = re.sub(r"^ *```.*?^ *```", "", doc.read_text(), flags=re.S | re.M)
    missing = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file)):
            missing.append(target)
    assert not missing, f"{doc.name} links to what is not there: {missing}"


def anchors(markdown: Path) -> set[str]:
    """GitHub's anchors for a file's headings."""
    text = re.sub(r"^ *```.*?^ *```", "", markdown.read_text(), flags=re.S | re.M)
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_it_fits_a_sitting() -> None:
    lines = len(readme().splitlines())
    assert lines <= MAX_LINES, f"README.md has {lines} lines (at most {MAX_LINES})"


def test_it_stands_on_its_own_in_a_clone() -> None:
    assert "../shared" not in readme()


def test_options_podlife_ignores_are_not_offered() -> None:
    """podlife uses pytest-kind's KindCluster, not its plugin: none of the plugin's options."""
    offered = help_text(PYTEST)
    for ignored in ("--cluster-name", "--keep-cluster", "--kind-image", "--kind-bin", "--kind-kubectl-bin"):
        assert not lists(offered, ignored), ignored
    assert lists(offered, "--kubeconfig") and lists(offered, "--probe-image")
