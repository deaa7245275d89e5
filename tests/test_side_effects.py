"""segsim has no side effects: no network I/O, and the user's DuckDB file is never written.

See docs/guarantees.md for the guarantees these tests back.
"""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import segsim as ss
from segsim import attr, in_list


class NetworkUsed(AssertionError):
    """Raised by every socket entry point while the network is blocked."""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise NetworkUsed(f"segsim tried to use the network: {args!r}")

    class RefusingSocket(socket.socket):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            refuse(*args)

    # the method first, on the real class (the name is replaced just after)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "socket", RefusingSocket)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    with pytest.raises(NetworkUsed):  # the block itself works
        socket.create_connection(("example.com", 443))
    with pytest.raises(NetworkUsed):
        socket.socket()


@pytest.fixture(scope="module")
def demo_frames(small_demo) -> dict[str, pd.DataFrame]:
    """The demo scenario (300 contacts) simulated once with the network up, to compare with.

    A session fixture (conftest.py), so it is built before ``no_network`` blocks sockets.
    """
    return small_demo[1].frames


def test_demo_scenario_runs_with_every_socket_blocked(
    no_network: None, demo_frames: dict[str, pd.DataFrame]
) -> None:
    result = ss.simulate(ss.datasets.demo_scenario(contacts=300), progress=False)
    webhooks = result.actions[result.actions["action"] == "webhook"]
    assert len(webhooks) > 0, "the demo scenario should call webhooks"
    assert set(webhooks["status"]) == {"sent"} and set(webhooks["channel"]) == {"webhook"}
    # and identically to a run with the network available: nothing depends on it
    for name, frame in result.frames.items():
        assert frame.equals(demo_frames[name]), name


def test_cli_demo_runs_with_every_socket_blocked(
    no_network: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from segsim.cli import main

    assert (
        main(["demo", "--contacts", "100", "--out", str(tmp_path / "demo"), "--no-progress"]) == 0
    )
    assert "segsim: error" not in capsys.readouterr().err


# -- the user's DuckDB file --------------------------------------------------------------------------


def _fingerprint(path: Path) -> tuple[str, int, int, list[str]]:
    """Content hash, mtime, size, and what else is in the folder (no .wal left behind)."""
    stat = path.stat()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest, stat.st_mtime_ns, stat.st_size, sorted(os.listdir(path.parent))


def _user_store(path: Path) -> None:
    store = ss.Store(path)
    store.load_attributes(
        pd.DataFrame(
            {
                "contact_id": [1, 1, 2, 2, 3, 1, 1],
                "ts": [
                    *("2025-12-01", "2026-01-03", "2025-12-01", "2026-01-04", "2026-01-05"),
                    *("2025-12-01", "2025-12-01"),
                ],
                "attribute": [*["plan"] * 5, "email", "email_subscribed"],
                "value": ["free", "pro", "free", "pro", "pro", "c1@example.com", True],
            }
        )
    )
    store.load_lists(
        pd.DataFrame({"contact_id": [2], "ts": ["2026-01-06"], "list": ["news"], "member": [True]})
    )
    store.close()


def _touching_scenario(store: ss.Store) -> ss.Scenario:
    """Every action that changes a contact, cascading into another flow, on a file store."""
    pro = ss.Segment("Pro", attr("plan") == "pro")
    gold = ss.Segment("Gold", attr("tier") == "gold")
    news = ss.Segment("News", in_list("news"))
    upgrade = ss.Flow(
        "Upgrade",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.AddToList("l1", "customers"),
            ss.RemoveFromList("r1", "news"),
            ss.UpdateContact("u1", set={"tier": "gold"}),
            ss.Wait("w1", "1d"),
            ss.Webhook("h1", url="https://example.com/hook"),
            ss.DeleteContact("d1"),
        ],
    )
    welcome = ss.Flow(
        "GoldWelcome",
        trigger=ss.SegmentTrigger("Gold"),
        steps=[ss.SendEmail("e1", template="gold")],
    )
    return ss.Scenario(
        store,
        segments=[pro, gold, news],
        flows=[upgrade, welcome],
        start="2026-01-01",
        end="2026-02-01",
    )


@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "read-write"])
def test_simulating_never_writes_the_users_duckdb_file(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "contacts.duckdb"
    _user_store(path)
    before = _fingerprint(path)
    store = ss.Store(path, read_only=read_only)
    result = ss.simulate(_touching_scenario(store), progress=False)
    result.explain(1)  # reads the store's history too
    ss.segment_events(store, [ss.Segment("Pro", attr("plan") == "pro")], "2026-01-01", "2026-02-01")
    assert _fingerprint(path) == before  # not even while the store is open
    store.close()
    assert _fingerprint(path) == before
    # the simulation did change contacts, in memory only
    assert {"add_to_list", "update_contact", "delete_contact"} <= set(result.actions["action"])
    with ss.Store(path, read_only=True) as reopened:
        assert set(reopened.attribute_types) == {"plan", "email", "email_subscribed"}
        assert reopened.list_names == ["news"]


def test_the_same_scenario_and_seed_give_identical_frames(
    demo_frames: dict[str, pd.DataFrame],
) -> None:
    again = ss.simulate(ss.datasets.demo_scenario(contacts=300), progress=False)
    for name, frame in again.frames.items():
        assert frame.equals(demo_frames[name]), name
