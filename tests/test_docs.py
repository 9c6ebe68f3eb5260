"""A clone has no dead links: every relative link in README.md and docs/*.md names a file of the
repository, and every #anchor a heading of the file it points at (GitHub's anchors)."""

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def prose(path: Path) -> str:
    """The text outside code blocks and inline code, where links are links."""
    return INLINE_CODE.sub("", FENCE.sub("", path.read_text()))


def slug(heading: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in FENCE.sub("", path.read_text()).splitlines():
        if line.startswith("#"):
            base = slug(line.lstrip("#"))
            name, n = base, 0
            while name in found:
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def problems(document: Path) -> list[str]:
    found = []
    for target in LINK.findall(prose(document)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto:: not a file of the clone
        file_part, _, anchor = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        if not linked.is_relative_to(ROOT) or not linked.exists():
            found.append(f"{document.name}: {target} (no such file in the repository)")
        elif anchor and anchor not in anchors(linked):
            found.append(f"{document.name}: {target} (no such heading)")
    return found


def test_every_relative_link_resolves() -> None:
    assert len(DOCUMENTS) >= 6
    assert [problem for document in DOCUMENTS for problem in problems(document)] == []


def test_the_links_are_checked_for_real() -> None:
    """The checker finds the links it must: a dead file, a dead anchor, a way out of the clone."""
    assert slug(" Rotating `PORTAL_SECRET_KEY`") == "rotating-portal_secret_key"
    assert slug(" 2. Receive the token (your token URL)") == "2-receive-the-token-your-token-url"
    assert "security-model-what-members-and-operators-can-rely-on" in anchors(ROOT / "README.md")
    assert LINK.findall("[a](../shared/docs/protocol.md) ![b](x.png#top)") == [
        "../shared/docs/protocol.md",
        "x.png#top",
    ]


def test_nothing_points_outside_the_repository() -> None:
    for document in DOCUMENTS:
        assert "../shared/" not in document.read_text(), document.name
