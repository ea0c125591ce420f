"""The bounded stores: what they remember, what they forget first, and that they stay bounded."""

from __future__ import annotations

from llmpulse.tracking import Aggregate, Dedupe, Lru, Window


def test_dedupe_remembers_exactly_the_last_size_ids():
    d = Dedupe(1000)
    assert not any(d.seen("t", str(i)) for i in range(5000))
    assert len(d.keys) == 1000
    assert all(d.seen("t", str(i)) for i in range(4000, 5000))      # the last 1000: resends
    assert not d.seen("t", "3999")                                   # forgotten, so new again


def test_lru_forgets_the_least_recently_put_key():
    lru = Lru(3)
    for k in "abc":
        lru.put(k, k.upper())
    lru.put("a", "A2")                 # refreshed: now the newest
    lru.put("d", "D")                  # evicts b, the oldest
    assert list(lru.data) == ["c", "a", "d"]
    assert lru.get("a") == "A2" and lru.get("b") is None


def test_put_new_forgets_in_first_put_order_and_stays_bounded():
    lru = Lru(3)
    for k in "abc":
        lru.put_new(k, k.upper())
    lru.put_new("a", "A2")             # put again: new value, same place
    lru.put_new("d", "D")              # evicts a, the first put
    assert list(lru.data) == ["b", "c", "d"] and lru.get("a") is None
    for i in range(1_000):
        lru.put_new(i, i)
    assert len(lru.data) == 3 and list(lru.data) == [997, 998, 999]


def test_lru_stays_bounded_over_many_times_its_size():
    lru = Lru(100)
    for i in range(10_000):
        lru.put(i, i)
        if i % 7 == 0:
            lru.put(i // 2, 0)
    assert len(lru.data) == 100
    assert 9_999 in lru.data


def test_window_evicts_the_least_recently_active_and_sweeps_in_order():
    w = Window(idle=10, size=3)
    w.add("a", "s", 1.0, 1)
    w.add("b", "s", 2.0, 1)
    w.add("c", "s", 3.0, 1)
    w.add("a", "s", 4.0, 1)            # a is active again: b is now the oldest
    evicted = Aggregate._make(w.add("d", "s", 5.0, 1))
    assert evicted.trace_id == "" and evicted.last_seen == 2.0 and evicted.operations == 1
    assert list(w.open) == ["c", "a", "d"]
    assert [a.last_seen for a in w.sweep(14.5)] == [3.0, 4.0]       # idle for 10 s or more
    assert list(w.open) == ["d"]


def test_window_stays_bounded():
    w = Window(idle=1e9, size=50)
    finished = 0
    for i in range(5_000):
        finished += w.add(str(i % 400), "s", float(i), 1) is not None
    assert len(w.open) == 50
    assert finished == 5_000 - 50      # 400 keys in turn through 50 places: every add after the 50th evicts one
