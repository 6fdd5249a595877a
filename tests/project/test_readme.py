"""The README is the operator's manual: every setting the code reads is listed there."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def settings_read_from_environment() -> set[str]:
    source = (ROOT / "derpmgr" / "settings.py").read_text()
    return set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', source))


def test_every_environment_setting_is_documented():
    readme = (ROOT / "README.md").read_text()
    names = settings_read_from_environment()
    assert len(names) > 20  # the pattern still finds the settings
    assert sorted(n for n in names if f"`{n}`" not in readme) == []


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/test.sh" in readme
    assert "exec ./scripts/test.sh" in ci
