"""Throughput and memory of the blob stores on a large stream.

Puts and gets a generated stream (1 GiB by default) on the filesystem backend
(in a temporary directory) and on the S3 backend (against a moto server this
script starts on loopback), and prints, for each operation, MiB/s beside the
raw rates measured in the same run (``hashlib.sha256`` over the same bytes, a
plain file copy with ``shutil``) and the growth of this process's peak RSS.
The stores must stream: the growth must stay under 64 MiB (PASS/FAIL; the exit
status is 1 on a FAIL).

moto keeps objects in its own process's memory; the RSS measured here is the
client's, which is what the bound is about.

    python benchmarks/storage.py [--size-mb 1024] [--backend both|file|s3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

# Run as a script, this file's directory comes first on sys.path, and this file
# (benchmarks/storage.py) would shadow the storage package it measures.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]

from storage import (  # noqa: E402 -- after the sys.path repair above
    BlobStorage,
    FilesystemBlobStorage,
    open_store,
)

MiB = 1 << 20
RSS_BOUND_MIB = 64
CHUNK = MiB

_MOTO = """
import logging, os, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.server import main
os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
main(sys.argv[1:])
"""


def generate(size: int) -> Iterator[bytes]:
    """``size`` bytes in 1 MiB chunks, each different, cheap to make."""
    block = bytearray(os.urandom(CHUNK))
    sent, counter = 0, 0
    while sent < size:
        counter += 1
        block[:8] = counter.to_bytes(8, "big")
        piece = bytes(block[: min(CHUNK, size - sent)])
        sent += len(piece)
        yield piece


class PeakRss:
    """Peak resident set growth of this process during a block.

    Linux keeps the peak in VmHWM; writing "5" to /proc/self/clear_refs resets
    it to the current RSS (proc(5)). Where that is not allowed, a thread
    samples VmRSS every 2 ms instead.
    """

    def __init__(self) -> None:
        self.growth = 0
        self._sampling = False

    def __enter__(self) -> PeakRss:
        self._start = _status("VmRSS")
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self._sampling = True
            self._peak = self._start
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sampling:
            self._stop.set()
            self._thread.join()
            peak = self._peak
        else:
            peak = _status("VmHWM")
        self.growth = max(0, peak - self._start)

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self._peak = max(self._peak, _status("VmRSS"))


def _status(field: str) -> int:
    """A /proc/self/status field, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


@dataclass
class Row:
    what: str
    seconds: float
    size: int
    cpu: float
    rss: int | None = None

    @property
    def rate(self) -> float:
        return self.size / MiB / self.seconds

    def line(self) -> str:
        if self.rss is None:
            memory = verdict = ""
        else:
            memory = f"{self.rss / MiB:8.1f}"
            verdict = "PASS" if self.rss < RSS_BOUND_MIB * MiB else "FAIL"
        rate = f"{self.rate:10.1f}{self.seconds:9.2f}{self.cpu:9.2f}"
        return f"{self.what:<34}{rate}{memory:>14}  {verdict}"


def measure(what: str, size: int, run: Callable[[], object]) -> Row:
    with PeakRss() as peak:
        started, cpu = time.perf_counter(), time.process_time()
        run()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Row(what, seconds, size, cpu, peak.growth)


def baselines(size: int, scratch: Path) -> list[Row]:
    def digest() -> None:
        sha256 = hashlib.sha256()
        for chunk in generate(size):
            sha256.update(chunk)

    source, copy = scratch / "source", scratch / "copy"
    with source.open("wb") as out:
        for chunk in generate(size):
            out.write(chunk)
        # Flushed before the clock starts: its write-back must not slow the copy.
        out.flush()
        os.fsync(out.fileno())

    def copy_file() -> None:
        with source.open("rb") as src, copy.open("wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
            dst.flush()
            os.fsync(dst.fileno())

    rows = [
        measure("raw: generate + hashlib.sha256", size, digest),
        measure("raw: shutil file copy + fsync", size, copy_file),
    ]
    for row in rows:
        row.rss = None  # a reference rate, not a store under test
    source.unlink()
    copy.unlink()
    return rows


def exercise(name: str, store: BlobStorage, size: int) -> list[Row]:
    key = ""

    def put() -> None:
        nonlocal key
        key = store.put(generate(size)).key

    def get() -> None:
        with store.open(key) as reader:  # the reader checks the SHA-256 at the end
            for _ in reader:
                pass

    rows = [
        measure(f"{name}: put", size, put),
        measure(f"{name}: get (verified)", size, get),
    ]
    store.delete(key)
    return rows


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto(port: int) -> Iterator[None]:
    args = [sys.executable, "-c", _MOTO, "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="stream size in MiB")
    parser.add_argument("--backend", choices=["both", "file", "s3"], default="both")
    args = parser.parse_args()
    size = args.size_mb * MiB

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="storage-bench-") as scratch:
        rows += baselines(size, Path(scratch))
        if args.backend in ("both", "file"):
            rows += exercise(
                "file", FilesystemBlobStorage(Path(scratch) / "blobs"), size
            )
        if args.backend in ("both", "s3"):
            port = free_port()
            with moto(port):
                url = f"s3://bench:bench-secret@127.0.0.1:{port}/bench?secure=false"
                rows += exercise("s3 (moto, loopback)", open_store(url), size)

    print(
        f"storage benchmark: {args.size_mb} MiB stream, python {sys.version.split()[0]}"
    )
    header = f"{'operation':<34}{'MiB/s':>10}{'seconds':>9}{'CPU s':>9}"
    header += f"{'peak RSS +MiB':>14}"
    print(f"{header}  (bound {RSS_BOUND_MIB} MiB)")
    for row in rows:
        print(row.line())
    print("S3 RSS is this process's (the client's); moto holds the objects itself.")
    failed = any(r.rss is not None and r.rss >= RSS_BOUND_MIB * MiB for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
