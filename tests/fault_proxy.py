"""A loopback TCP proxy that injects faults on cue, for the torture tests: cut a connection when a given
marker crosses the wire (mid-FETCH, mid-MOVE, mid-DATA …), refuse new connections (accept, then reset),
and stall every byte. tests/tcp_proxy.py is the plain counting proxy; this one is about the exact moment.
"""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

TO_SERVER, TO_CLIENT = "to_server", "to_client"

@dataclass
class Cut:
    """Fire on the next connection whose `direction` stream carries `marker`: pass `keep` bytes counted
    from the marker's first byte, then cut. The side that got the bytes sees them followed by EOF."""
    direction: str
    marker: bytes
    keep: int
    times: int = 1
    fired: int = 0


@dataclass
class _Conn:
    client: socket.socket
    server: socket.socket
    tails: dict[str, bytes] = field(default_factory=lambda: {TO_SERVER: b"", TO_CLIENT: b""})
    cut: bool = False


class FaultProxy:
    """127.0.0.1:port → target, with cut rules, refusals (accept then reset) and stalls."""

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self.rules: list[Cut] = []
        self.refusals = self.refused = 0
        self._flowing = threading.Event()
        self._flowing.set()
        self._conns: list[_Conn] = []
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def cut(self, direction: str, marker: bytes, keep: int, times: int = 1) -> Cut:
        rule = Cut(direction, marker, keep, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def refuse(self, count: int) -> None:
        with self._lock:
            self.refusals += count

    def stall(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def drop_all(self) -> None:
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _reset(conn.client)
            _reset(conn.server)

    def close(self) -> None:
        self._flowing.set()
        self._listener.close()
        self.drop_all()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = self.refusals > 0
                self.refusals -= refuse
                self.refused += refuse
            if refuse:
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            conn = _Conn(client, server)
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._pump, args=(conn, TO_SERVER), daemon=True).start()
            threading.Thread(target=self._pump, args=(conn, TO_CLIENT), daemon=True).start()

    def _pump(self, conn: _Conn, direction: str) -> None:
        source, sink = (conn.client, conn.server) if direction == TO_SERVER else (conn.server, conn.client)
        try:
            while chunk := source.recv(65536):
                self._flowing.wait()
                if conn.cut:
                    continue  # after a cut, the far side's answer is drained and dropped
                keep = self._keep(conn, direction, chunk)
                sink.sendall(chunk if keep is None else chunk[:keep])
                if keep is not None:
                    self._cut(conn, sink)
        except OSError:
            pass
        finally:
            if not conn.cut:  # one side closed: close the other (after a cut, _cut already did)
                _reset(sink)
            source.close()

    def _keep(self, conn: _Conn, direction: str, chunk: bytes) -> int | None:
        """Bytes of `chunk` to pass before cutting, or None to pass it all and go on."""
        window = conn.tails[direction] + chunk
        conn.tails[direction] = window[-200:]
        offset = len(window) - len(chunk)  # where this chunk starts in the window
        with self._lock:
            for rule in self.rules:
                if rule.direction != direction or rule.fired >= rule.times:
                    continue
                at = window.find(rule.marker, max(0, offset - len(rule.marker) + 1))  # not one already passed
                if at < 0:
                    continue
                rule.fired += 1
                return max(0, min(len(chunk), at - offset + rule.keep))
        return None

    def _cut(self, conn: _Conn, receiver: socket.socket) -> None:
        """The receiver gets what was passed, then EOF; the other side's connection is cut at once."""
        conn.cut = True
        other = conn.client if receiver is conn.server else conn.server
        try:
            receiver.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        if other is conn.client:
            _reset(other)
        else:  # the client got the bytes; the server is just told the connection is gone
            try:
                other.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def _reset(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
