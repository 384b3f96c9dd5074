"""Idle pass cost against mailbox size: one `poll_tick` with nothing new to do, for a small and a large
account, side by side in the same run, through a TCP proxy that counts bytes and names IMAP commands.

    python -m bench.bench_idle_pass --small 100 --large 10000 [--db sqlite|postgresql]

mailbot files every message it finishes, so its inbox does not keep processed mail: "an inbox of N
messages already processed" is an account whose N messages mailbot has ingested and filed. Two shapes:

- history: the N messages sit in mailbot/Processed and the ledger holds their N rows for the INBOX
  (the steady state of a long-running install; the INBOX itself is empty);
- held: the N messages are still in the INBOX, each known to the ledger and waiting for a retry that is
  not yet due (what an outage leaves behind): the pass must list them and fetch none.

The ledger rows are inserted directly in their final state (processing 10,000 certificates would take
the benchmark an hour and measures something else: bench_backlog does that).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import insert, text

from bench.common import PROCESSED, CommandCountingProxy, Figure, Servers, database, servers, write_config
from mailbot.app import App
from mailbot.config import load_config
from mailbot.jobs import poll_tick
from mailbot.ledger.models import InboundMessage, utcnow

GOAL_RATIO = 1.5
PASSES = 5
SHAPES = ("history", "held")


@dataclass(frozen=True)
class PassCost:
    size: int
    seconds: float  # median wall time of PASSES passes
    bytes_received: int  # server → client, one pass
    commands: list[str]  # IMAP commands of one pass
    fetched: int  # messages whose bodies were fetched, over all passes
    select_seconds: float = 0.0  # median of Dovecot's own SELECT of the INBOX, no mailbot code around it
    listing_seconds: float = 0.0  # median of passes that open and list the folder (after a start or a change)
    listing_commands: list[str] = field(default_factory=list)


def kept_mail(n: int) -> list[bytes]:
    """`n` ordinary small emails (what sits in a shared mailbox)."""
    raws = []
    for i in range(n):
        msg = EmailMessage()
        msg["From"], msg["To"] = f"person{i % 50}@elsewhere.example", "certs@benchco.example"
        msg["Subject"], msg["Message-ID"] = f"note {i}", f"<kept-{i}@elsewhere.example>"
        msg.set_content(f"Message {i}, kept for the record.\n")
        raws.append(msg.as_bytes())
    return raws


def arrange_mailbox(srv: Servers, user: str, n: int, shape: str) -> tuple[int, list[str]]:
    """Deliver `n` messages; for `history` move them all to Processed. Returns (UIDVALIDITY, INBOX UIDs)."""
    srv.dovecot.deliver_to_maildir(user, kept_mail(n))
    with srv.dovecot.client(user) as box:
        box.client.select("INBOX")
        uidvalidity = int(box.client.untagged_responses["UIDVALIDITY"][-1])
        _, data = box.client.uid("SEARCH", "ALL")
        uids = data[0].decode().split()
        if shape == "history":
            box.client.create(f'"{PROCESSED}"')
            typ, detail = box.client.uid("MOVE", "1:*", f'"{PROCESSED}"')
            if typ != "OK":
                raise RuntimeError(f"MOVE failed: {detail!r}")
    return uidvalidity, uids


def insert_ledger_rows(app: App, uidvalidity: int, uids: list[str], shape: str) -> None:
    """One InboundMessage row per message, as mailbot leaves it: filed, or waiting for a later retry."""
    now, account = utcnow(), app.source().account
    done = {"state": "recorded", "target_folder": PROCESSED, "filed_at": now, "next_attempt_at": None}
    waiting = {"state": "retry", "target_folder": None, "filed_at": None, "next_attempt_at": now + timedelta(days=1)}
    rows = [{"account": account, "folder": "INBOX", "uidvalidity": uidvalidity, "mailbox_key": uid,
             "message_id": f"<kept-{i}@elsewhere.example>", "raw_sha256": f"{i:064x}", "attempts": 1,
             "created_at": now, "updated_at": now, **(done if shape == "history" else waiting)}
            for i, uid in enumerate(uids)]
    with app.engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(insert(InboundMessage), rows[start:start + 2000])
        if conn.dialect.name == "postgresql":  # what autovacuum does soon after a bulk insert: without fresh
            conn.execute(text("ANALYZE inboundmessage"))  # statistics the planner takes the table for empty


def measure(srv: Servers, workdir: Path, db_url: str, n: int, shape: str) -> PassCost:
    user, password = srv.dovecot.add_user()
    uidvalidity, uids = arrange_mailbox(srv, user, n, shape)
    with CommandCountingProxy(srv.dovecot.host, srv.dovecot.port) as proxy:
        config = write_config(workdir, db_url, imap_port=proxy.port, user=user, password=password,
                              smtp_port=srv.sink.port)
        app = App(load_config(str(config)))
        insert_ledger_rows(app, uidvalidity, uids, shape)
        fetched = poll_tick(app).fetched  # warm-up: folders exist, caches are warm, as on a running daemon
        times, received, commands = [], 0, []
        for _ in range(PASSES):  # what a running daemon does every poll_seconds while nothing changes
            proxy.reset_counters()
            started = time.perf_counter()
            fetched += poll_tick(app).fetched
            times.append(time.perf_counter() - started)
            received, commands = proxy.bytes_to_client, proxy.commands()
        listing, listing_commands = [], []
        for _ in range(PASSES):  # the pass after a start or a change: opens and lists the folder
            app.quiet_listings.clear()
            proxy.reset_counters()
            started = time.perf_counter()
            fetched += poll_tick(app).fetched
            listing.append(time.perf_counter() - started)
            listing_commands = proxy.commands()
        app.engine.dispose()
    return PassCost(n, statistics.median(times), received, commands, fetched, select_seconds(srv, user),
                    statistics.median(listing), listing_commands)


def select_seconds(srv: Servers, user: str) -> float:
    """Median wall time of a bare SELECT of the INBOX (imaplib, straight to Dovecot): the server's own
    share of a pass, which grows with the folder whatever the client does."""
    times = []
    with srv.dovecot.client(user) as box:
        for _ in range(PASSES):
            started = time.perf_counter()
            box.client.select("INBOX")
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(srv: Servers, workdir: Path, backends: list[str], *, small: int = 100, large: int = 10_000) -> list[Figure]:
    figures = []
    for backend in backends:
        for shape in SHAPES:
            costs = []
            for n in (small, large):
                with database(backend, workdir) as db_url:
                    costs.append(measure(srv, workdir, db_url, n, shape))
            figures += figures_for(costs, backend, shape)
    return figures


def figures_for(costs: list[PassCost], backend: str, shape: str) -> list[Figure]:
    small, large = costs
    ratio = large.seconds / small.seconds
    bodies = [c for c in small.commands + large.commands + small.listing_commands + large.listing_commands
              if "FETCH" in c]
    where = f"{shape}, {backend}"
    return [
        Figure("idle pass", f"wall time {small.size:,} vs {large.size:,} ({where})",
               f"{small.seconds * 1000:.0f} ms vs {large.seconds * 1000:.0f} ms = {ratio:.2f}×",
               f"≤ {GOAL_RATIO:g}×", ratio <= GOAL_RATIO),
        Figure("idle pass", f"a pass that lists the folder (after a start or a change), {small.size:,} vs "
               f"{large.size:,} ({where})", f"{small.listing_seconds * 1000:.0f} ms vs "
               f"{large.listing_seconds * 1000:.0f} ms = {large.listing_seconds / small.listing_seconds:.2f}×: "
               f"{' '.join(large.listing_commands)}"),
        Figure("idle pass", f"Dovecot's SELECT of that INBOX alone, {small.size:,} vs {large.size:,} ({where})",
               f"{small.select_seconds * 1000:.1f} ms vs {large.select_seconds * 1000:.1f} ms"),
        Figure("idle pass", f"bytes received {small.size:,} vs {large.size:,} ({where})",
               f"{small.bytes_received:,} vs {large.bytes_received:,}"),
        Figure("idle pass", f"IMAP commands per pass ({where})",
               f"{len(small.commands)} vs {len(large.commands)}: {' '.join(large.commands)}"),
        Figure("idle pass", f"message bodies fetched ({where})", f"{small.fetched + large.fetched} ({len(bodies)} FETCH)",
               "0", not bodies and not small.fetched and not large.fetched),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with servers() as srv, tempfile.TemporaryDirectory() as tmp:
        for figure in run(srv, Path(tmp), [args.db], small=args.small, large=args.large):
            print(f"{figure.name}: {figure.value}  (goal {figure.goal or '-'})")


if __name__ == "__main__":
    main()
