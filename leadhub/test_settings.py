"""Settings for the test suite: the regular settings with test defaults."""
import os

os.environ.setdefault("LEADHUB_TESTING", "1")

from leadhub.settings import *  # noqa: E402,F401,F403
