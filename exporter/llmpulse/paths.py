"""Where llmpulse's user-facing files live: the top-level `dashboards/` and `alerts/` folders.

The package reaches them through `_data/dashboards` and `_data/alerts`: in a checkout these are
symlinks to the top-level folders (so `llmpulse dashboards build` rewrites the committed JSON), and
an installed wheel carries copies of them as package data. `deploy/` exists in a checkout only.

    >>> (DASHBOARDS_DIR / "llmpulse-overview.json").is_file()
    True
    >>> (ALERTS_DIR / "thresholds.yaml").is_file()
    True
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DASHBOARDS_DIR = (PACKAGE_DIR / "_data" / "dashboards").resolve()
ALERTS_DIR = (PACKAGE_DIR / "_data" / "alerts").resolve()
# the checkout's root (exporter/llmpulse/../..); an installed package has no deploy/ beside it
DEPLOY_DIR = PACKAGE_DIR.parents[1] / "deploy"
# whether this package runs from a source checkout (editable install): only then do the build commands
# know where the user's dashboards/, alerts/ and deploy/ are
IN_CHECKOUT = (PACKAGE_DIR.parents[1] / "pyproject.toml").is_file()
