"""Known bugs of torch and jax, as data: ``oracles/known_upstream.toml``.

Each entry names one upstream bug (the framework, the op, the versions it reproduces on, the
issue link) and the gate comparisons it explains: ``cases`` are fnmatch patterns over the gate's
comparison ids (``{architecture}-{oracle}-{quantity}-layer{l}``, harness.gate_ids) and
``oracles`` the gate oracles it covers. The gate marks a matching comparison strict xfail with the
link in the reason, so a fixed upstream bug turns the gate red (remove the entry, or give it
``fixed_in``), while a disagreement that matches no entry fails as any other.

An entry with ``fixed_in`` is kept as a record and no longer matches once the installed framework
is at that version or later. ``python -m harness.upstream`` (``nox -s upstream``) reruns each
entry's standalone reproduction on the installed versions.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

DEFAULT_PATH = Path(__file__).with_name("known_upstream.toml")

#: The gate oracles a framework's bug can show in (torch.func.jvp is the forward-mode oracle).
FRAMEWORK_ORACLES: Mapping[str, frozenset[str]] = {
    "torch": frozenset({"torch", "forward_mode"}),
    "jax": frozenset({"jax"}),
}
#: The framework's distribution name, whose installed version decides whether ``fixed_in`` applies.
DISTRIBUTION = {"torch": "torch", "jax": "jax"}
#: An upstream issue id and the only url it may have.
_ISSUE_ID = re.compile(r"^(?P<tracker>pytorch|jax-ml/jax)#(?P<number>[1-9]\d*)$")
_TRACKER_URL = {
    "pytorch": "https://github.com/pytorch/pytorch/issues/{}",
    "jax-ml/jax": "https://github.com/jax-ml/jax/issues/{}",
}
#: An id for a bug with no upstream issue yet: ``framework:slug``.
_LOCAL_ID = re.compile(r"^(?P<framework>torch|jax):[a-z0-9][a-z0-9._-]*$")
#: A release: digits and dots, then anything (a local part such as "+cpu", a pre-release).
_RELEASE = re.compile(r"^\d+(?:\.\d+)*(?=$|[^.\d])")
_REQUIRED = ("id", "framework", "op", "summary", "versions")
_KEYS = frozenset({*_REQUIRED, "url", "fixed_in", "cases", "oracles"})


class KnownBugsError(ValueError):
    """The known-bugs file is malformed; the one-line message names the file and the entry."""


@dataclass(frozen=True)
class KnownBug:
    """One upstream bug and the gate comparisons it explains."""

    id: str
    url: str | None
    framework: str
    op: str
    summary: str
    versions: tuple[str, ...]
    fixed_in: str | None = None
    cases: tuple[str, ...] = ()
    oracles: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """The xfail reason: id, link and summary."""
        return f"{self.id} {self.url or '(no upstream issue yet)'}: {self.summary}"

    def active(self, installed: str | None = None) -> bool:
        """Whether the bug is expected on ``installed`` (default: the installed framework):
        always without ``fixed_in``, else only below that version."""
        if self.fixed_in is None:
            return True
        installed = installed if installed is not None else installed_version(self.framework)
        if installed is None:
            return True
        return _release(installed) < _release(self.fixed_in)

    def covers(self, comparison_id: str, oracle: str) -> bool:
        """Whether this entry explains the comparison (its oracle and one of its patterns)."""
        return oracle in self.oracles and any(
            fnmatch.fnmatchcase(comparison_id, pattern) for pattern in self.cases
        )


@functools.cache
def installed_version(framework: str) -> str | None:
    """The installed version of ``framework`` (e.g. torch "2.13.0+cpu"), None if missing."""
    try:
        return metadata.version(DISTRIBUTION[framework])
    except metadata.PackageNotFoundError:
        return None


def _release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string: "2.13.0+cpu" -> (2, 13, 0), "0.4.30" -> (0, 4,
    30); ValueError if it does not start with one."""
    found = _RELEASE.match(version)
    if found is None:
        raise ValueError(f"{version!r} is not a version")
    return tuple(int(part) for part in found[0].split("."))


def load(path: Path | str = DEFAULT_PATH) -> tuple[KnownBug, ...]:
    """Every entry of the file, validated (KnownBugsError names the first bad one)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KnownBugsError(f"{path}: cannot read the known-bugs file: {exc}") from None
    unknown = set(data) - {"bug"}
    if unknown:
        raise KnownBugsError(f"{path}: unknown top-level keys {sorted(unknown)} (only [[bug]])")
    entries = data.get("bug", [])
    if not isinstance(entries, list):
        raise KnownBugsError(f"{path}: 'bug' must be an array of tables ([[bug]])")
    bugs: list[KnownBug] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        bug = _parse(entry, f"{path}: bug {index}")
        if bug.id in seen:
            raise KnownBugsError(f"{path}: bug {index} ({bug.id}): duplicate id")
        seen.add(bug.id)
        bugs.append(bug)
    return tuple(bugs)


def _parse(entry: Any, where: str) -> KnownBug:
    if not isinstance(entry, dict):
        raise KnownBugsError(f"{where}: not a table")
    name = entry.get("id")
    if isinstance(name, str):
        where = f"{where} ({name})"
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise KnownBugsError(f"{where}: missing {', '.join(missing)}")
    unknown = set(entry) - _KEYS
    if unknown:
        raise KnownBugsError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_KEYS)}")
    text = {key: _string(entry, key, where) for key in ("id", "framework", "op", "summary")}
    framework = text["framework"]
    if framework not in FRAMEWORK_ORACLES:
        raise KnownBugsError(
            f"{where}: framework {framework!r}, known: {sorted(FRAMEWORK_ORACLES)}"
        )
    url = _optional_string(entry, "url", where)
    _check_id(text["id"], framework, url, where)
    versions = _strings(entry, "versions", where)
    if not versions:
        raise KnownBugsError(f"{where}: versions is empty (name at least one it reproduces on)")
    fixed_in = _optional_string(entry, "fixed_in", where)
    for version in (*versions, *([fixed_in] if fixed_in else [])):
        _check_version(version, where)
    oracles = _strings(entry, "oracles", where)
    allowed = FRAMEWORK_ORACLES[framework]
    stray = [o for o in oracles if o not in allowed]
    if stray:
        raise KnownBugsError(
            f"{where}: oracles {stray} cannot show a {framework} bug; allowed: {sorted(allowed)}"
        )
    return KnownBug(
        id=text["id"],
        url=url,
        framework=framework,
        op=text["op"],
        summary=text["summary"],
        versions=versions,
        fixed_in=fixed_in,
        cases=_strings(entry, "cases", where),
        oracles=oracles,
    )


def _check_id(name: str, framework: str, url: str | None, where: str) -> None:
    issue = _ISSUE_ID.match(name)
    if issue:
        tracker_framework = "torch" if issue["tracker"] == "pytorch" else "jax"
        if tracker_framework != framework:
            raise KnownBugsError(f"{where}: a {issue['tracker']} issue is not a {framework} bug")
        expected = _TRACKER_URL[issue["tracker"]].format(issue["number"])
        if url != expected:
            raise KnownBugsError(f"{where}: url {url!r}, the issue's url is {expected}")
        return
    local = _LOCAL_ID.match(name)
    if local is None:
        raise KnownBugsError(
            f"{where}: id {name!r} is neither an issue (pytorch#N, jax-ml/jax#N) "
            "nor framework:slug (torch:tanh-backward-20)"
        )
    if local["framework"] != framework:
        raise KnownBugsError(f"{where}: id {name!r} names another framework than {framework}")
    if url is not None and not url.startswith("https://"):
        raise KnownBugsError(f"{where}: url {url!r} is not an https link")


def _check_version(version: str, where: str) -> None:
    try:
        _release(version)
    except ValueError as exc:
        raise KnownBugsError(f"{where}: {exc}") from None


def _string(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise KnownBugsError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value


def _optional_string(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    return _string(entry, key, where) if key in entry else None


def _strings(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise KnownBugsError(f"{where}: {key} must be a list of non-empty strings, got {value!r}")
    return tuple(value)


@functools.cache
def _default() -> tuple[KnownBug, ...]:
    return load(DEFAULT_PATH)


def matching(
    comparison_id: str, oracle: str, bugs: Sequence[KnownBug] | None = None
) -> KnownBug | None:
    """The first active entry (of ``bugs``, default the project's file) explaining the comparison
    ``comparison_id`` made by ``oracle``; None if no entry does."""
    found = all_matching(comparison_id, oracle, bugs)
    return found[0] if found else None


def all_matching(
    comparison_id: str, oracle: str, bugs: Sequence[KnownBug] | None = None
) -> tuple[KnownBug, ...]:
    """Every active entry explaining the comparison, in the file's order (two reports of one
    cancellation, e.g. a functional and a module form, cover the same comparisons)."""
    return tuple(
        bug
        for bug in (_default() if bugs is None else bugs)
        if bug.covers(comparison_id, oracle) and bug.active()
    )


def for_architecture(arch_id: str, bugs: Sequence[KnownBug] | None = None) -> tuple[KnownBug, ...]:
    """The entries (of ``bugs``, default the project's file) that could explain a comparison of
    the architecture ``arch_id``, whose ids all start ``<arch_id>-``: those with a pattern whose
    literal start (up to its first wildcard) agrees with that. What :func:`all_matching` needs to
    look at for the architecture's comparisons: the soak's 523,000 planned comparisons took 9 s
    of every process's collection matched against every entry."""
    head = f"{arch_id}-"

    def could(pattern: str) -> bool:
        literal = _LITERAL_START.match(pattern)
        start = literal.group(0) if literal else ""
        return start.startswith(head) if len(start) > len(head) else head.startswith(start)

    return tuple(
        bug
        for bug in (_default() if bugs is None else bugs)
        if any(could(pattern) for pattern in bug.cases)
    )


#: The start of an fnmatch pattern before its first wildcard (``*``, ``?``, ``[``).
_LITERAL_START = re.compile(r"[^*?\[]*")


def xfail_mark(
    comparison_id: str, oracle: str, bugs: Sequence[KnownBug] | None = None
) -> pytest.MarkDecorator | None:
    """``pytest.mark.xfail(strict=True, reason=...)`` for a comparison a known bug explains, else
    None: the gate fails if the bug's comparison ever passes (the bug was fixed upstream)."""
    found = all_matching(comparison_id, oracle, bugs)
    if not found:
        return None
    import pytest

    return pytest.mark.xfail(strict=True, reason="; ".join(bug.reason for bug in found))
