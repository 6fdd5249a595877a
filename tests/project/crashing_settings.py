"""tests.settings with tests/project/crashing_urls.py: a real panel process that can hit a bug."""

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.project.crashing_urls"
