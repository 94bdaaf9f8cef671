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
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "scripts" / "README.md",
             ROOT / "experiments" / "README.md"]
    broken = [f"{path.relative_to(ROOT)} -> {target}" for path in pages
              for target in _relative_links(path) if not (path.parent / target).exists()]
    assert broken == []


def test_the_docs_pages_the_readme_promises_exist():
    for page in ("user-guide", "training", "results", "validation", "packaging", "hardening", "architecture",
                 "glossary"):
        assert (ROOT / "docs" / f"{page}.md").is_file(), page


SCRIPT = re.compile(r"(?<![\w/.])((?:scripts|experiments)/\w+\.(?:py|sh))\b")


def test_every_script_the_docs_and_the_code_name_exists():
    """Tools sit in scripts/, research scripts in experiments/ (README.md in each): a script moved from one to the
    other leaves no stale path behind in the docs, the READMEs or a docstring."""
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "scripts").glob("*")),
             *sorted((ROOT / "experiments").glob("*")), *sorted((ROOT / "melanoma_desktop").rglob("*.py")),
             *sorted((ROOT / "trainer").rglob("*.py")), *sorted((ROOT / "tests").rglob("*.py"))]
    named = {(path.relative_to(ROOT).as_posix(), script) for path in texts if path.is_file()
             for script in SCRIPT.findall(path.read_text(encoding="utf-8")) if not (ROOT / script).is_file()}
    assert named == set()


def test_the_tools_and_the_research_scripts_each_have_a_readme_that_lists_them():
    for folder in ("scripts", "experiments"):
        text = (ROOT / folder / "README.md").read_text(encoding="utf-8")
        missing = [path.name for path in sorted((ROOT / folder).iterdir())
                   if path.suffix in (".py", ".sh") and f"`{path.name}`" not in text]
        assert missing == [], folder
