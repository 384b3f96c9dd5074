"""A loopback TCP proxy for tests: put it between a client and a real server to count the bytes that flow
(e.g. "an idle pass downloads no message bodies"), to cut every connection at once (a network drop that
is not a server restart), or to stall them (a hung peer: the client's timeout must fire). Threads only; one
pair of pump threads per connection.
"""
from __future__ import annotations

import socket
import threading
from typing import Self


class TcpProxy:
    """Listens on 127.0.0.1:`port` (free, or given) and forwards each connection to (target_host, target_port)."""

    def __init__(self, target_host: str, target_port: int, port: int = 0):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", port))
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self.bytes_to_client = 0  # server → client (what a client downloads)
        self.bytes_to_server = 0
        self._closed = False
        self._flowing = threading.Event()  # cleared by stall(): bytes are held, connections stay open
        self._flowing.set()
        threading.Thread(target=self._accept_loop, name=f"tcp-proxy-{self.port}", daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()  # target down: the client sees an immediate close, like a refused login
                continue
            with self._lock:
                self._conns += [client, server]
            threading.Thread(target=self._pump, args=(client, server, "bytes_to_server"), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, "bytes_to_client"), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, counter: str) -> None:
        try:
            while chunk := source.recv(65536):
                self._flowing.wait()
                with self._lock:
                    setattr(self, counter, getattr(self, counter) + len(chunk))
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _close(sock)

    def reset_counters(self) -> None:
        with self._lock:
            self.bytes_to_client = self.bytes_to_server = 0

    def stall(self) -> None:
        """Hold every byte from now on, connections open: a hung server or a black-holed network."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def drop_connections(self) -> None:
        """Reset every open connection (new ones are still accepted)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for sock in conns:
            _close(sock)

    def close(self) -> None:
        self._closed = True
        self._flowing.set()
        _close(self._listener)
        self.drop_connections()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
