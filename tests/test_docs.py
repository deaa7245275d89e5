"""The documentation stays true to the code and to itself: its examples run, its links and
citations resolve, and the contract it cites lives in the repository (docs/design.md)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

import segsim as ss

ROOT = Path(__file__).resolve().parent.parent


def test_scenario_example_in_datasets_readme_loads_and_simulates(tmp_path):
    text = (ROOT / "datasets" / "README.md").read_text()
    block = re.search(r"## Scenario files.*?```yaml\n(.*?)```", text, re.S).group(1)
    raw = yaml.safe_load(block)
    assert raw["data"]["kind"] == "csv"
    lines = [
        line
        for line in block.splitlines()
        if not line.startswith(
            ("data:", "  kind: csv", "  path:", "  types:", "  lists:", "  events:", "  event_")
        )
    ]
    path = tmp_path / "scenario.yaml"
    path.write_text("data: {kind: demo, contacts: 200}\n" + "\n".join(lines))
    scenario = ss.load_scenario(path)
    result = ss.simulate(scenario, progress=False)
    assert set(result.runs["flow"]) <= {"Welcome Pro"}


def test_packaged_demo_scenario_is_the_one_in_datasets():
    packaged = Path(ss.datasets.DEMO_SCENARIO).read_text()
    assert packaged == (ROOT / "datasets" / "demo_scenario.yaml").read_text()


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    lines = (ROOT / "README.md").read_text().splitlines()
    commands = [line for line in lines[:6] if line.startswith("python3 -m venv")]
    assert len(commands) == 2
    assert commands[0].endswith("segsim demo")
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_readme_quick_start_runs():
    text = (ROOT / "README.md").read_text()
    code = re.search(r"## Quick start\n\n```python\n(.*?)```", text, re.S).group(1)
    code = code.replace("contacts=5_000", "contacts=300")
    namespace: dict = {}
    exec(compile(code, "README quick start", "exec"), namespace)
    assert len(namespace["result"].runs) > 0


def test_readme_beyond_replay_example_runs():
    text = (ROOT / "README.md").read_text()
    code = re.search(r"## Beyond replay[^\n]*\n\n```python\n(.*?)```", text, re.S).group(1)
    code = code.replace("contacts=5_000", "contacts=300").replace(
        "replications=20", "replications=3"
    )
    namespace: dict = {}
    exec(compile(code, "README beyond replay", "exec"), namespace)
    summary = namespace["result"].summary()
    assert set(summary["replications"]) == {3}
    assert {"converted", "frequency_capped", "deferred"} <= set(summary["metric"])


def test_design_example_runs():
    text = (ROOT / "docs" / "design.md").read_text()
    code = re.search(r"### 2\.1 A complete example\n\n```python\n(.*?)```", text, re.S).group(1)
    code = code.replace("contacts=5_000", "contacts=300")
    namespace: dict = {}
    exec(compile(code, "docs/design.md §2.1", "exec"), namespace)
    result = namespace["result"]
    assert len(result.runs) + len(result.suppressed) > 0  # trigger events happened
    assert list(namespace["cmp"].variants) == ["A", "B"]


# -- the contract lives in the repository ------------------------------------------------------

# A citation of the design brief kept outside the repository: its capitalised name, alone or
# followed by ".md" or "§N".
_EXTERNAL_BRIEF = re.compile(r"\bDESIGN(?:\.md|\s*§|\b)")
_CONTRACT = ROOT / "docs" / "design.md"
# "design.md §4", "design.md §4.3", "design.md §4 and §5", "design.md §4, §5"
# ("design.md §N" names the convention itself)
_CITATION = re.compile(r"design\.md §(N\b|\d+(?:\.\d+)*)((?:(?:,| and| or) §\d+(?:\.\d+)*)*)")
_SECTION = r"§(\d+(?:\.\d+)*)"
_MARKDOWN_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    files = [ROOT / name for name in listed.decode().split("\0") if name]
    # this file spells out the patterns it looks for, so it is the one file not searched
    return [path for path in files if path.is_file() and path != Path(__file__).resolve()]


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary files


def _slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[`*_]{1,2}(?=\S)|(?<=\S)[`*_]{1,2}", "", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    anchors: set[str] = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (match := re.match(r"#{1,6} (.+)", line)):
            slug = base = _slug(match.group(1))
            n = 0
            while slug in anchors:
                n += 1
                slug = f"{base}-{n}"
            anchors.add(slug)
    return anchors


def _design_sections() -> set[str]:
    """Section numbers of docs/design.md: "4", "4.3", ..."""
    numbers = re.findall(r"^#{2,4} (\d+(?:\.\d+)*)\.? ", _CONTRACT.read_text(), re.M)
    assert len(numbers) == len(set(numbers)), "docs/design.md numbers a section twice"
    return set(numbers)


def test_no_tracked_file_cites_the_external_design_brief():
    offenders = []
    for path in _tracked_files():
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if _EXTERNAL_BRIEF.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, (
        "the contract is docs/design.md: cite it as 'docs/design.md §N' instead of the "
        "design brief outside the repository:\n" + "\n".join(offenders)
    )


def test_design_sections_are_numbered_in_order():
    numbers = re.findall(r"^## (\d+)\. ", _CONTRACT.read_text(), re.M)
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)]
    for line in re.findall(r"^### .*$", _CONTRACT.read_text(), re.M):
        assert re.match(r"### \d+\.\d+ \S", line), f"unnumbered subsection: {line}"


def test_every_citation_of_design_md_names_an_existing_section():
    sections = _design_sections()
    broken, orphans = [], []
    for path in _tracked_files():
        text = _text(path)
        if text is None or "§" not in text:
            continue
        where = path.relative_to(ROOT)
        if path == _CONTRACT:  # the contract refers to its own sections as plain "§N"
            cited = re.findall(_SECTION, text)
        else:
            citations = [match.group(0) for match in _CITATION.finditer(text)]
            cited = [number for citation in citations for number in re.findall(_SECTION, citation)]
            # elsewhere, every "§" belongs to a citation that names its document
            rest = _CITATION.sub("", text)
            orphans += [f"{where}: {line.strip()}" for line in rest.splitlines() if "§" in line]
        broken += [f"{where}: §{number}" for number in cited if number not in sections]
    assert not broken, "citations of missing sections of docs/design.md:\n" + "\n".join(broken)
    assert not orphans, "write 'docs/design.md §N', not a bare '§N':\n" + "\n".join(orphans)


def _markdown_pages() -> list[tuple[Path, str]]:
    """The Markdown of the docs, the READMEs and the notebooks' text cells."""
    pages = [
        *sorted((ROOT / "docs").glob("*.md")),
        ROOT / "README.md",
        ROOT / "datasets" / "README.md",
    ]
    found = [(page, page.read_text()) for page in pages]
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        text = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        found.append((notebook, text))
    return found


def test_relative_links_in_docs_resolve():
    broken = []
    for page, text in _markdown_pages():
        text = re.sub(r"```.*?```", "", text, flags=re.S)  # links in code blocks are code
        for target in _MARKDOWN_LINK.findall(text):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, mailto:, ...
                continue
            path_part, _, anchor = target.partition("#")
            linked = (page.parent / path_part).resolve() if path_part else page
            where = f"{page.relative_to(ROOT)} -> {target}"
            if not linked.exists():
                broken.append(f"{where}: no such file")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked.read_text()):
                broken.append(f"{where}: no such section")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_design_md_anchor_slugs_follow_github():
    anchors = _anchors(_CONTRACT.read_text())
    assert "4-simulation-semantics" in anchors
    assert "43-entry-and-suppression" in anchors
    assert "7-messages-and-operations" in anchors
