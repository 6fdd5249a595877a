"""The system log names each action in words: every action the code records has a label."""

import re
from pathlib import Path

from django.utils import translation

from apps.audit.labels import ACTION_LABELS, action_label

ROOT = Path(__file__).resolve().parents[2]
_ACTION_ARGUMENT = re.compile(r"\baction=(.+)")
_CODE = re.compile(r"\"([a-z_]+\.[a-z_]+)\"")


def recorded_actions() -> set[str]:
    """Every action code written as `action="app.verb"` (or in a conditional after `action=`)."""
    found = set()
    for path in [*ROOT.glob("apps/**/*.py"), *ROOT.glob("derpmgr/**/*.py")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            argument = _ACTION_ARGUMENT.search(line)
            if argument:
                found.update(_CODE.findall(argument.group(1)))
    return found


def test_every_recorded_action_has_a_label():
    actions = recorded_actions()
    assert "accounts.login" in actions and "rentals.renewed" in actions  # the scan sees them
    assert sorted(actions - set(ACTION_LABELS)) == []


def test_labels_are_chinese_by_default_and_unknown_codes_shown_as_they_are():
    with translation.override("zh-hans"):
        assert action_label("accounts.login") == "登录"
    with translation.override("en"):
        assert action_label("accounts.login") == "Signed in"
    assert action_label("legacy.something") == "legacy.something"
