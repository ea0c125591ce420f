"""A local stand-in for the parts of Grafana's HTTP API that `dashboards push` calls.

Written from Grafana's HTTP API documentation (Folder API, Dashboard API, Search
API of Grafana 10/11):

- every call needs `Authorization: Bearer <token>`: unknown token -> 401
  `{"message": "Unauthorized"}`; a viewer token may read but writes get 403
  `{"message": "Access denied"}`;
- `GET /api/search?type=dash-folder|dash-db&query=` -> list of hits
  (`id`, `uid`, `title`, `type`, `url`), title substring match, case-insensitive;
- `GET /api/folders` -> `[{"id", "uid", "title"}]`;
- `POST /api/folders {"title", "uid"?}` -> 200 with the folder; 409 if the title exists;
- `GET /api/dashboards/uid/<uid>` -> `{"dashboard": {...}, "meta": {"folderUid", ...}}`
  or 404 `{"message": "Dashboard not found"}`;
- `POST /api/dashboards/db {"dashboard", "folderUid"?, "overwrite", "message"}` ->
  `{"id", "uid", "url", "status": "success", "version", "slug"}`; 400 for an
  unknown folder; 412 `version-mismatch` when the uid exists, `overwrite` is false
  and the versions differ. Grafana sets `id` and increments `version` on save.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class FakeGrafana:
    """State plus a threaded HTTP server on 127.0.0.1 (free port)."""

    def __init__(self, token: str = "secret", viewer_token: str = "viewer") -> None:
        self.token = token
        self.viewer_token = viewer_token
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}  # uid -> {"dashboard", "folderUid"}
        self.requests: list[tuple[str, str]] = []
        self._next_id = 1
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "FakeGrafana":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_folder(self, title: str, uid: str | None = None) -> dict[str, Any]:
        folder = {"id": self.new_id(), "uid": uid or f"f{self._next_id:08d}", "title": title}
        folder["url"] = f"/dashboards/f/{folder['uid']}/{slug(title)}"
        self.folders[folder["uid"]] = folder
        return folder

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] == "POST"]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _auth(self, write: bool) -> bool:
                header = self.headers.get("Authorization", "")
                if header == f"Bearer {fake.token}":
                    return True
                if header == f"Bearer {fake.viewer_token}" and not write:
                    return True
                if header == f"Bearer {fake.viewer_token}":
                    self._send(403, {"message": "Access denied"})
                else:
                    self._send(401, {"message": "Unauthorized"})
                return False

            def _body(self) -> Any:
                length = int(self.headers.get("Content-Length", 0))
                return json.loads(self.rfile.read(length) or b"null")

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                fake.requests.append(("GET", url.path))
                if not self._auth(write=False):
                    return
                query = parse_qs(url.query)
                with fake._lock:
                    if url.path == "/api/search":
                        self._send(200, search(fake, query.get("type", [""])[0], query.get("query", [""])[0]))
                    elif url.path == "/api/folders":
                        self._send(200, [{k: f[k] for k in ("id", "uid", "title")} for f in fake.folders.values()])
                    elif match := re.fullmatch(r"/api/dashboards/uid/([^/]+)", url.path):
                        stored = fake.dashboards.get(match.group(1))
                        if stored is None:
                            self._send(404, {"message": "Dashboard not found"})
                        else:
                            self._send(200, dashboard_response(fake, stored))
                    else:
                        self._send(404, {"message": "Not found"})

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                fake.requests.append(("POST", url.path))
                if not self._auth(write=True):
                    return
                body = self._body()
                with fake._lock:
                    if url.path == "/api/folders":
                        if any(f["title"] == body.get("title") for f in fake.folders.values()):
                            self._send(409, {"message": "a folder with the same name already exists"})
                            return
                        self._send(200, fake.add_folder(body["title"], body.get("uid")))
                    elif url.path == "/api/dashboards/db":
                        status, answer = save(fake, body)
                        self._send(status, answer)
                    else:
                        self._send(404, {"message": "Not found"})

        return Handler


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def search(fake: FakeGrafana, kind: str, text: str) -> list[dict[str, Any]]:
    hits = []
    if kind in ("", "dash-folder"):
        for f in fake.folders.values():
            if text.lower() in f["title"].lower():
                hits.append({"id": f["id"], "uid": f["uid"], "title": f["title"], "type": "dash-folder", "url": f["url"]})
    if kind in ("", "dash-db"):
        for uid, stored in fake.dashboards.items():
            title = stored["dashboard"].get("title", "")
            if text.lower() in title.lower():
                hits.append({"id": stored["dashboard"]["id"], "uid": uid, "title": title, "type": "dash-db",
                             "url": f"/d/{uid}/{slug(title)}", "folderUid": stored["folderUid"]})
    return hits


def dashboard_response(fake: FakeGrafana, stored: dict[str, Any]) -> dict[str, Any]:
    dashboard = stored["dashboard"]
    folder = fake.folders.get(stored["folderUid"], {"id": 0, "title": "Dashboards"})
    return {
        "dashboard": copy.deepcopy(dashboard),
        "meta": {
            "slug": slug(dashboard.get("title", "")),
            "url": f"/d/{dashboard['uid']}/{slug(dashboard.get('title', ''))}",
            "version": dashboard["version"],
            "folderId": folder["id"],
            "folderUid": stored["folderUid"],
            "folderTitle": folder["title"],
            "provisioned": False,
        },
    }


def save(fake: FakeGrafana, body: Any) -> tuple[int, dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
        return 400, {"message": "bad request data"}
    dashboard = copy.deepcopy(body["dashboard"])
    folder_uid = body.get("folderUid", "") or ""
    if folder_uid and folder_uid not in fake.folders:
        return 400, {"message": "folder not found", "status": "folder-not-found"}
    uid = dashboard.get("uid") or f"d{fake.new_id():08d}"
    existing = fake.dashboards.get(uid)
    if existing and not body.get("overwrite") and dashboard.get("version") != existing["dashboard"]["version"]:
        return 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
    dashboard["uid"] = uid
    dashboard["id"] = existing["dashboard"]["id"] if existing else fake.new_id()
    dashboard["version"] = existing["dashboard"]["version"] + 1 if existing else 1
    fake.dashboards[uid] = {"dashboard": dashboard, "folderUid": folder_uid}
    title = dashboard.get("title", "")
    return 200, {
        "id": dashboard["id"],
        "uid": uid,
        "url": f"/d/{uid}/{slug(title)}",
        "status": "success",
        "version": dashboard["version"],
        "slug": slug(title),
    }
