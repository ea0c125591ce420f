"""The prices in use: the built-in table, your files, and community tables (``pricing.sources``).

`PriceSources.build` returns the `PriceTable` alone when no source is configured (nothing
changes for the common set-up), else a `PriceChain`: by default the built-in table with your
files first, then each source in order (``pricing.prefer: sources`` puts your files, then the
sources, then the built-in table). URL sources with ``refresh_seconds`` are fetched again in a
background thread; a failed fetch keeps the last good copy (also kept in ``cache_file``, read
when the URL fails at start) and is counted in ``llmpulse_price_source_refreshes_total``.

>>> from llmpulse.config import load_config
>>> type(PriceSources(load_config(environ={}).pricing).build()).__name__
'PriceTable'
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from llmpulse import litellm_prices
from llmpulse.config import PriceSourceConfig, PricingConfig
from llmpulse.pricing import PriceChain, PriceTable, PriceTableError, _Loader

log = logging.getLogger("llmpulse.prices")

__all__ = ["PriceSources", "load_source"]


def _table(src: PriceSourceConfig, label: str, data: bytes, checked: dt.date) -> PriceTable:
    """A source's bytes -> its table (raises ValueError / PriceTableError)."""
    if src.format == "litellm":
        doc, version = litellm_prices.parse_bytes(data)
        converted, _coverage = litellm_prices.convert(doc, source=label, version=version, checked=checked)
        return PriceTable.from_doc(converted, label)
    import yaml

    return PriceTable.from_doc(yaml.load(data.decode("utf-8"), Loader=_Loader), label, checked=checked)  # noqa: S506


def load_source(src: PriceSourceConfig, label: str) -> PriceTable:
    """Read one source now: a file (its modification date is its ``checked`` date) or a URL (today).

    Raises OSError, ValueError (bad JSON / format), PriceTableError or a requests exception.
    """
    if src.path:
        path = Path(src.path)
        data = path.read_bytes()
        checked = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).date()
        return _table(src, label, data, checked)
    data = litellm_prices.fetch_url(src.url, src.timeout_seconds)
    table = _table(src, label, data, dt.datetime.now(dt.timezone.utc).date())
    if src.cache_file:
        _write_atomically(Path(src.cache_file), data)
    return table


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PriceSources:
    """Builds the prices in use and keeps URL sources fresh.

    ``on_change(prices)`` is called from the refresh thread with the new table or chain after a
    source changed; ``metrics`` (a `llmpulse.costing.PriceMetrics`) counts refreshes.
    """

    def __init__(self, cfg: PricingConfig, metrics=None, on_change: Callable | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.cfg = cfg
        self.metrics = metrics
        self.on_change = on_change
        self.clock = clock
        self.names = [s.name or f"source{i}" for i, s in enumerate(cfg.sources)]
        self.tables: list[PriceTable | None] = [None] * len(cfg.sources)
        self.next_due: list[float] = [0.0] * len(cfg.sources)
        self.base: PriceTable | None = None
        self.files_only: PriceTable | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()        # a refresh and a reload never interleave

    # -- building -------------------------------------------------------------
    def build(self) -> PriceTable | PriceChain:
        """The prices in use now. A bad ``files`` entry raises `PriceTableError` (the exporter
        refuses to start); a source that cannot be read is logged, counted and left out."""
        self.base = PriceTable.load(self.cfg.files)
        if not self.cfg.sources:
            return self.base
        if self.cfg.prefer == "sources" and self.cfg.files:
            self.files_only = PriceTable.load(self.cfg.files, builtin=False, checked=self.base.checked)
        now = self.clock()
        for i, src in enumerate(self.cfg.sources):
            self._load(i, src, now, first=True)
        return self.current()

    def current(self) -> PriceTable | PriceChain:
        base = self.base
        assert base is not None, "load() first"
        sources = [t for t in self.tables if t is not None]
        if not sources:
            return base
        if self.cfg.prefer == "sources":
            head = [self.files_only] if self.files_only is not None else []
            return PriceChain([*head, *sources, base])
        return PriceChain([base, *sources])

    def _load(self, i: int, src: PriceSourceConfig, now: float, first: bool = False) -> bool:
        name = self.names[i]
        self.next_due[i] = now + src.refresh_seconds if src.refresh_seconds else float("inf")
        try:
            table = load_source(src, name)
        except Exception as exc:          # noqa: BLE001 - any failure keeps the last good copy
            self._count(name, "failed")
            log.warning("price source %s (%s) could not be read: %s", name, src.path or src.url, _short(exc))
            if first and src.cache_file and Path(src.cache_file).exists():
                try:
                    data = Path(src.cache_file).read_bytes()
                    mtime = Path(src.cache_file).stat().st_mtime
                    self.tables[i] = _table(src, name, data, dt.datetime.fromtimestamp(mtime, dt.timezone.utc).date())
                    log.warning("price source %s: using its last good copy %s", name, src.cache_file)
                except (OSError, ValueError, PriceTableError) as cached_exc:
                    log.warning("price source %s: its last good copy is unreadable too: %s", name, _short(cached_exc))
            return False
        self.tables[i] = table
        self._count(name, "ok")
        if self.metrics is not None:
            self.metrics.source_loaded(name, len(table), time.time())
        log.info("price source %s: %d models (version %s)", name, len(table), table.version)
        return True

    def _count(self, name: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.source_refreshed(name, outcome)

    def reload_files(self) -> tuple[PriceTable | PriceChain, list[str]]:
        """Read `files` and the file sources again (SIGHUP); URL sources keep their copy and schedule.

        Returns (the prices now, names of file sources that could not be read and kept their
        last good copy). A bad `files` entry raises `PriceTableError` and changes nothing.
        """
        with self._lock:
            base = PriceTable.load(self.cfg.files)
            files_only = None
            if self.cfg.prefer == "sources" and self.cfg.files:
                files_only = PriceTable.load(self.cfg.files, builtin=False, checked=base.checked)
            now = self.clock()
            failed = [self.names[i] for i, src in enumerate(self.cfg.sources)
                      if src.path and not self._load(i, src, now)]
            self.base, self.files_only = base, files_only
            return self.current(), failed

    # -- refreshing -----------------------------------------------------------
    def refresh_due(self) -> bool:
        """Fetch every URL source whose interval has passed; True if the prices changed."""
        with self._lock:
            return self._refresh_due()

    def _refresh_due(self) -> bool:
        now = self.clock()
        changed = False
        for i, src in enumerate(self.cfg.sources):
            if src.url and src.refresh_seconds and now >= self.next_due[i]:
                before = self.tables[i]
                if self._load(i, src, now) and (before is None or before.version != getattr(self.tables[i], "version", None)):
                    changed = True
        if changed and self.on_change is not None:
            self.on_change(self.current())
        return changed

    def start(self) -> None:
        if any(s.url and s.refresh_seconds for s in self.cfg.sources):
            self._thread = threading.Thread(target=self._loop, name="llmpulse-prices", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(min(30.0, min(s.refresh_seconds for s in self.cfg.sources if s.refresh_seconds))):
            try:
                self.refresh_due()
            except Exception:  # noqa: BLE001 - keep refreshing whatever happens
                log.exception("price refresh failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]

