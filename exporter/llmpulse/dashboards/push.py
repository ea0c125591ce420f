"""Push rendered dashboards to a running Grafana through its HTTP API.

Calls (Grafana HTTP API, token as `Authorization: Bearer <token>`):
`GET /api/search?type=dash-folder&query=<name>` (find the folder), `POST /api/folders`
(create it), `GET /api/dashboards/uid/<uid>` (compare), `POST /api/dashboards/db`
(create or overwrite). A dashboard whose stored JSON and folder already match is
left alone, so pushing twice changes nothing.

>>> prepare({"__inputs": [], "id": None, "uid": "u", "templating": {"list": []}})
{'id': None, 'uid': 'u', 'templating': {'list': []}}
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

DEFAULT_TIMEOUT_SECONDS = 10.0
# Keys Grafana manages itself; ignored when comparing stored and local dashboards.
SERVER_KEYS = ("id", "version")


class PushError(Exception):
    """A failure the user has to fix (token, folder, URL); printed without a traceback."""


@dataclass(frozen=True)
class PushResult:
    uid: str
    title: str
    status: str  # created | updated | unchanged
    url: str = ""


def load_dashboards(directory: Path) -> list[dict[str, Any]]:
    """Every `*.json` dashboard (with a uid) in `directory`, sorted by file name."""
    paths = sorted(directory.glob("*.json"))
    dashboards = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("uid") and "panels" in data:
            dashboards.append(data)
    if not dashboards:
        raise PushError(f"no dashboard JSON files in {directory}")
    return dashboards


def prepare(data: dict[str, Any], datasource_uid: str | None = None) -> dict[str, Any]:
    """The dashboard as the API stores it: no import-only keys, `$datasource` resolved at view time.

    The `__inputs` placeholder is only replaced by Grafana's import screen, so the
    datasource variable starts empty (Grafana picks the default Prometheus) unless
    `datasource_uid` names one.
    """
    out = copy.deepcopy(data)
    out.pop("__inputs", None)
    out.pop("__requires", None)
    out["id"] = None
    for variable in out.get("templating", {}).get("list", []):
        if variable.get("type") == "datasource" and variable.get("name") == "datasource":
            if datasource_uid:
                variable["current"] = {"selected": True, "text": datasource_uid, "value": datasource_uid}
            else:
                variable["current"] = {}
    return out


def _comparable(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dashboard.items() if k not in SERVER_KEYS}


class Grafana:
    """Minimal Grafana HTTP API client for pushing dashboards."""

    def __init__(self, url: str, token: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {token}", "Accept": "application/json", "Content-Type": "application/json"}
        )

    def _call(self, method: str, path: str, *, ok_404: bool = False, **kwargs: Any) -> requests.Response:
        try:
            response = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.exceptions.RequestException as exc:
            raise PushError(f"cannot reach Grafana at {self.url}: {_reason(exc, self.timeout)}") from exc
        if response.status_code in (401, 403):
            raise PushError(
                f"Grafana refused the request {method} {path} with HTTP {response.status_code} "
                f"({_message(response)}): check the token (--token or GRAFANA_TOKEN) and that its "
                "role may edit dashboards and folders"
            )
        if response.status_code == 404 and ok_404:
            return response
        if response.status_code >= 400:
            raise PushError(f"Grafana answered {method} {path} with HTTP {response.status_code}: {_message(response)}")
        return response

    def find_folder(self, title: str) -> str | None:
        """UID of the folder titled exactly `title`, or None."""
        response = self._call("GET", "/api/search", params={"type": "dash-folder", "query": title})
        for hit in _json(response, "/api/search"):
            if hit.get("title") == title and hit.get("type", "dash-folder") == "dash-folder":
                return str(hit["uid"])
        return None

    def create_folder(self, title: str) -> str:
        response = self._call("POST", "/api/folders", json={"title": title})
        return str(_json(response, "/api/folders")["uid"])

    def get_dashboard(self, uid: str) -> dict[str, Any] | None:
        response = self._call("GET", f"/api/dashboards/uid/{uid}", ok_404=True)
        if response.status_code == 404:
            return None
        return _json(response, f"/api/dashboards/uid/{uid}")

    def save_dashboard(self, dashboard: dict[str, Any], folder_uid: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "dashboard": dashboard,
            "overwrite": True,
            "message": "llmpulse dashboards push",
        }
        if folder_uid:
            body["folderUid"] = folder_uid
        response = self._call("POST", "/api/dashboards/db", json=body)
        return _json(response, "/api/dashboards/db")


def _reason(exc: requests.exceptions.RequestException, timeout: float) -> str:
    """A one-line cause: 'connection refused', 'timed out after 10 s', ..."""
    if isinstance(exc, requests.exceptions.Timeout):
        return f"timed out after {timeout:g} s"
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
    if found:
        return found.group(1).strip().lower()
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error (check the certificate or the URL scheme)"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return response.reason


def _json(response: requests.Response, path: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise PushError(f"Grafana answered {path} with something that is not JSON: {response.text[:200]!r}") from exc


def push(
    client: Grafana,
    dashboards: list[dict[str, Any]],
    *,
    folder: str | None = None,
    create_folder: bool = True,
    datasource_uid: str | None = None,
) -> list[PushResult]:
    """Create or update each dashboard in `folder` (None: the root/General folder)."""
    folder_uid = ""
    if folder:
        found = client.find_folder(folder)
        if found is None:
            if not create_folder:
                raise PushError(
                    f"folder {folder!r} does not exist in Grafana at {client.url}; create it or "
                    "drop --no-create-folder"
                )
            found = client.create_folder(folder)
        folder_uid = found
    results = []
    for data in dashboards:
        local = prepare(data, datasource_uid)
        stored = client.get_dashboard(local["uid"])
        if stored is not None:
            same_json = _comparable(stored.get("dashboard", {})) == _comparable(local)
            same_folder = (stored.get("meta", {}).get("folderUid") or "") == folder_uid
            if same_json and same_folder:
                results.append(PushResult(local["uid"], local["title"], "unchanged"))
                continue
        answer = client.save_dashboard(local, folder_uid)
        status = "created" if stored is None else "updated"
        results.append(PushResult(local["uid"], local["title"], status, str(answer.get("url", ""))))
    return results
