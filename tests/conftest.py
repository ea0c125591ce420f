import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def imported_from_this_checkout(module_file: str, repo_root: str = REPO_ROOT) -> bool:
    """True if `module_file` (llmpulse.__file__) lies inside `repo_root`, the checkout these tests belong to."""
    return os.path.commonpath([os.path.realpath(module_file), os.path.realpath(repo_root)]) == os.path.realpath(repo_root)


def _check_checkout() -> None:
    # Another checkout's editable install (or a site-packages copy) would be tested instead of this one,
    # and every test would pass or fail for someone else's code: stop before anything imports more of it.
    import llmpulse

    if not imported_from_this_checkout(llmpulse.__file__):
        raise pytest.UsageError(
            f"llmpulse is imported from {llmpulse.__file__}, outside this checkout ({REPO_ROOT}): "
            f"install it here with `python -m pip install -e '.[test]'` from {REPO_ROOT}, in a venv of its own")


_check_checkout()

from harness import LiveStack, make_exporter  # noqa: E402




@pytest.fixture
def exporter():
    exp = make_exporter(tracking={"trace_idle_seconds": 0.2, "conversation_idle_seconds": 0.2})
    yield exp
    exp.stop()


@pytest.fixture(scope="session")
def live_prometheus(tmp_path_factory):
    stack = LiveStack(tmp_path_factory.mktemp("live"))
    yield stack
    stack.stop()
