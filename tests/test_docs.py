"""The documentation a stranger meets: a README for users that stays short, and links that resolve."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _relative_links(path: Path) -> list[str]:
    return [target for target in LINK.findall(path.read_text(encoding="utf-8"))
            if not re.match(r"^[a-z]+:", target)]


def test_the_readme_is_short_and_for_users():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    assert "Research software, not a medical device" in text and "-e '.[test]'" in text


def test_every_relative_link_in_the_readme_and_the_docs_resolves():
    broken = [f"{path.relative_to(ROOT)} -> {target}" for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
              for target in _relative_links(path) if not (path.parent / target).exists()]
    assert broken == []


def test_the_docs_pages_the_readme_promises_exist():
    for page in ("user-guide", "training", "results", "validation", "packaging", "hardening", "architecture",
                 "glossary"):
        assert (ROOT / "docs" / f"{page}.md").is_file(), page
