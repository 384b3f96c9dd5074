"""A warm, isolated extraction process: a hostile PDF can hang or exhaust only this process.

The parent sends (Document, ExtractLimits) as length-prefixed pickles on stdin and reads the
list of Extractions back on stdout. The worker caps its own address space (RLIMIT_AS) at start;
the parent enforces the time limit by killing it. Staying warm keeps the fast path fast: a text
PDF pays a pipe round trip (well under a millisecond), not a Python start (~300 ms).
"""
from __future__ import annotations

import os
import pickle
import resource
import select
import struct
import subprocess
import sys
import threading
import time

from mailbot.domain import Document, Extraction
from mailbot.extract.limits import ExtractLimits

HEADER = struct.Struct(">Q")
READY = b"R"


class WorkerFailed(Exception):
    pass


def _read_exact(stream, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def serve(max_memory_mb: int) -> None:
    """Worker side: answer requests until stdin closes."""
    limit = max_memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from mailbot.extract.reader import read_document  # imported after the cap, inside the worker

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(READY)
    stdout.flush()
    while True:
        try:
            doc, limits = pickle.loads(_read_exact(stdin, HEADER.unpack(_read_exact(stdin, HEADER.size))[0]))
        except EOFError:
            return
        try:
            result = read_document(doc, limits)
        except MemoryError:
            result = [Extraction(is_certificate=False, error=f"needed more than the {max_memory_mb} MB memory limit")]
        payload = pickle.dumps(result)
        stdout.write(HEADER.pack(len(payload)) + payload)
        stdout.flush()


class Worker:
    """Parent side: one warm child; a timeout or crash kills it and the next call starts a fresh one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._memory_mb = 0

    def _start(self, memory_mb: int) -> subprocess.Popen:
        # A fixed mmap threshold: glibc otherwise raises it after the first big free, so the next page
        # images land on the heap and their ~20 MB stay in RSS after the OCR; mmapped, they go back at once.
        env = {**os.environ, "OMP_THREAD_LIMIT": "1", "PYTHONUNBUFFERED": "1", "MALLOC_MMAP_THRESHOLD_": "131072"}
        proc = subprocess.Popen([sys.executable, "-m", "mailbot.extract.worker", str(memory_mb)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=env, close_fds=True)
        if self._read(proc, 1, time.monotonic() + 60) != READY:
            self._kill(proc)
            raise WorkerFailed("the extraction worker did not start")
        return proc

    @staticmethod
    def _read(proc: subprocess.Popen, size: int, deadline: float) -> bytes:
        fd = proc.stdout.fileno()
        chunks, left = [], size
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            stream.close()

    def _roundtrip(self, proc: subprocess.Popen, doc: Document, limits: ExtractLimits) -> list[Extraction]:
        payload = pickle.dumps((doc, limits))
        proc.stdin.write(HEADER.pack(len(payload)) + payload)
        proc.stdin.flush()
        # the worker's own checks stop OCR at the limit; this margin only catches a stuck parser
        deadline = time.monotonic() + limits.timeout_seconds + 2
        size = HEADER.unpack(self._read(proc, HEADER.size, deadline))[0]
        return pickle.loads(self._read(proc, size, deadline))

    def run(self, doc: Document, limits: ExtractLimits) -> list[Extraction]:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None or self._memory_mb != limits.max_memory_mb:
                if self._proc is not None:
                    self._kill(self._proc)
                self._proc, self._memory_mb = self._start(limits.max_memory_mb), limits.max_memory_mb
            try:
                return self._roundtrip(self._proc, doc, limits)
            except TimeoutError:
                self._kill(self._proc)
                self._proc = None
                raise WorkerFailed(f"reading took longer than the {limits.timeout_seconds:g} s limit") from None
            except (EOFError, BrokenPipeError, pickle.UnpicklingError):
                self._kill(self._proc)
                self._proc = None
                raise WorkerFailed(f"the file crashed the reader or needed more than {limits.max_memory_mb} MB "
                                   "(corrupt or hostile file)") from None

    def close(self) -> None:
        with self._lock:
            if self._proc is not None:
                self._kill(self._proc)
                self._proc = None


if __name__ == "__main__":
    serve(int(sys.argv[1]))
