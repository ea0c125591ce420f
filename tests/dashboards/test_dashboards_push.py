"""`llmpulse dashboards push` against a local fake Grafana (see fake_grafana.py)."""

from __future__ import annotations

import json
import shutil
import socket

import pytest

from dashboard_files import DASHBOARD_DIR, EXPECTED_UIDS
from fake_grafana import FakeGrafana
from llmpulse.cli import main


@pytest.fixture
def grafana():
    with FakeGrafana(token="secret", viewer_token="viewer") as fake:
        yield fake


def push(fake_url: str, *extra: str) -> int:
    return main(["dashboards", "push", "--url", fake_url, *extra])


def statuses(out: str) -> dict[str, str]:
    return {line.split()[1]: line.split()[0] for line in out.splitlines() if line.strip()}


def test_first_push_creates_folder_and_every_dashboard(grafana, capsys):
    assert push(grafana.url, "--token", "secret", "--folder", "LLM") == 0
    out = capsys.readouterr().out
    assert statuses(out) == {uid: "created" for uid in EXPECTED_UIDS}
    assert [f["title"] for f in grafana.folders.values()] == ["LLM"]
    folder_uid = next(iter(grafana.folders))
    assert set(grafana.dashboards) == EXPECTED_UIDS
    for stored in grafana.dashboards.values():
        assert stored["folderUid"] == folder_uid
        dashboard = stored["dashboard"]
        assert "__inputs" not in dashboard and "__requires" not in dashboard
        ds_var = next(v for v in dashboard["templating"]["list"] if v["name"] == "datasource")
        assert ds_var["current"] == {}
    assert f"{grafana.url}/d/llmpulse-overview/" in out


def test_pushing_twice_changes_nothing(grafana, capsys):
    assert push(grafana.url, "--token", "secret", "--folder", "LLM") == 0
    versions = {uid: s["dashboard"]["version"] for uid, s in grafana.dashboards.items()}
    writes_before = len(grafana.writes())
    capsys.readouterr()
    assert push(grafana.url, "--token", "secret", "--folder", "LLM") == 0
    assert statuses(capsys.readouterr().out) == {uid: "unchanged" for uid in EXPECTED_UIDS}
    assert len(grafana.writes()) == writes_before
    assert {uid: s["dashboard"]["version"] for uid, s in grafana.dashboards.items()} == versions
    assert len(grafana.folders) == 1


def test_changed_dashboard_is_updated_and_others_left_alone(grafana, tmp_path, capsys):
    for path in DASHBOARD_DIR.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    assert push(grafana.url, "--token", "secret", "--dir", str(tmp_path)) == 0
    changed = tmp_path / "llmpulse-cost.json"
    data = json.loads(changed.read_text())
    data["description"] += " (edited)"
    changed.write_text(json.dumps(data))
    capsys.readouterr()
    assert push(grafana.url, "--token", "secret", "--dir", str(tmp_path)) == 0
    result = statuses(capsys.readouterr().out)
    assert result.pop("llmpulse-cost") == "updated"
    assert set(result.values()) == {"unchanged"}
    assert grafana.dashboards["llmpulse-cost"]["dashboard"]["version"] == 2


def test_moving_to_another_folder_is_an_update(grafana, capsys):
    assert push(grafana.url, "--token", "secret") == 0
    capsys.readouterr()
    assert push(grafana.url, "--token", "secret", "--folder", "LLM") == 0
    assert set(statuses(capsys.readouterr().out).values()) == {"updated"}


def test_existing_folder_is_reused(grafana, capsys):
    folder = grafana.add_folder("LLM", uid="existing-llm")
    assert push(grafana.url, "--token", "secret", "--folder", "LLM", "--no-create-folder") == 0
    assert ("POST", "/api/folders") not in grafana.requests
    assert {s["folderUid"] for s in grafana.dashboards.values()} == {folder["uid"]}


def test_missing_folder_without_create_is_a_clear_error(grafana, capsys):
    assert push(grafana.url, "--token", "secret", "--folder", "Nope", "--no-create-folder") == 1
    err = capsys.readouterr().err
    assert "folder 'Nope' does not exist" in err
    assert grafana.dashboards == {}


def test_bad_token_is_a_clear_error(grafana, capsys):
    assert push(grafana.url, "--token", "wrong", "--folder", "LLM") == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "Unauthorized" in err and "token" in err
    assert "Traceback" not in err
    assert grafana.dashboards == {} and grafana.folders == {}


def test_token_without_write_permission_is_a_clear_error(grafana, capsys):
    assert push(grafana.url, "--token", "viewer") == 1
    err = capsys.readouterr().err
    assert "HTTP 403" in err and "Access denied" in err
    assert grafana.dashboards == {}


def test_token_from_environment(grafana, capsys, monkeypatch):
    monkeypatch.setenv("GRAFANA_TOKEN", "secret")
    assert push(grafana.url) == 0
    assert set(grafana.dashboards) == EXPECTED_UIDS


def test_no_token_is_a_usage_error(grafana, capsys, monkeypatch):
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert push(grafana.url) == 2
    assert "GRAFANA_TOKEN" in capsys.readouterr().err


def test_datasource_uid_is_preselected(grafana, capsys):
    assert push(grafana.url, "--token", "secret", "--datasource", "prometheus") == 0
    dashboard = grafana.dashboards["llmpulse-overview"]["dashboard"]
    ds_var = next(v for v in dashboard["templating"]["list"] if v["name"] == "datasource")
    assert ds_var["current"]["value"] == "prometheus"


def test_unreachable_grafana_is_a_clear_error(capsys):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert push(f"http://127.0.0.1:{port}", "--token", "secret", "--timeout", "2") == 1
    err = capsys.readouterr().err
    assert f"cannot reach Grafana at http://127.0.0.1:{port}: connection refused" in err
    assert "Traceback" not in err


def test_empty_directory_is_a_clear_error(grafana, tmp_path, capsys):
    assert push(grafana.url, "--token", "secret", "--dir", str(tmp_path)) == 1
    assert "no dashboard JSON files" in capsys.readouterr().err
