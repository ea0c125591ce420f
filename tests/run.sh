#!/usr/bin/env bash
# The test command: installs what the tests need (Debian's Prometheus,
# Alertmanager and docker-compose; the Python packages), then runs ruff, mypy and pytest.
# Usage: bash tests/run.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
for bin in prometheus promtool prometheus-alertmanager amtool docker-compose; do
  command -v "$bin" >/dev/null 2>&1 || need_apt+=("$bin")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "tests/run.sh: installing Debian packages for: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager docker-compose >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v -E '^WARNING: (Location|Running pip)' || true
# Lint first (ruff is in the [test] extra; its rules are in pyproject.toml's [tool.ruff]).
python3 -m ruff check .
# Then types ([tool.mypy] in pyproject.toml: the whole package, strict on the data model and hot path).
python3 -m mypy
exec python3 -m pytest "$@"
