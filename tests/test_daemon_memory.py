"""What the daemon and its extraction worker keep in memory, pinned by what they import (not by timing).

The daemon's peak memory is mostly its imported modules (docs/benchmarks.md, backlog). Modules that a
running daemon never uses once started stay out: alembic (+ mako, pygments) only when the schema needs a
migration, requests only with OAuth2 configured, PIL and pypdfium2 only in the extraction worker,
openpyxl only for import/export.
"""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from mailbot.samples import certificate_pdf, forwarded_email
from tests.helpers import INBOX_ADDR
from tests.test_daemon import CERT, cli, credits, deliver, wait_until, write_config

NOT_IN_THE_DAEMON = ("alembic", "mako", "pygments", "PIL", "pypdfium2", "openpyxl", "requests", "urllib3",
                     "msal", "google")
NOT_IN_THE_WORKER = ("sqlalchemy", "sqlmodel", "pydantic", "alembic", "jinja2", "apscheduler", "requests",
                     "openpyxl", "click", "imap_tools")

# `mailbot run`, as `python -m mailbot` starts it, writing its sys.modules to a file when it exits
RUN_AND_LIST_MODULES = """
import atexit, runpy, sys
listing = sys.argv.pop(1)
atexit.register(lambda: open(listing, "w").write("\\n".join(sorted(sys.modules))))
sys.argv[0] = "mailbot"
runpy.run_module("mailbot", run_name="__main__", alter_sys=True)
"""


def loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return sorted({name.split(".")[0] for name in modules} & set(packages))


def test_a_running_daemon_imports_only_what_its_ticks_use(tmp_path, db_url):
    config = write_config(tmp_path, db_url)
    cli(config, "techs", "add", "--name", "Dana Reyes", "--email", "dana@techs.example")  # migrates the schema
    listing = tmp_path / "modules.txt"
    with (tmp_path / "daemon.log").open("ab") as log:
        daemon = subprocess.Popen([sys.executable, "-c", RUN_AND_LIST_MODULES, str(listing), "--config", config,
                                   "run"], stdout=subprocess.DEVNULL, stderr=log)
    try:
        deliver(tmp_path, forwarded_email(sender="dana@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
                                          provider_addr="x@acme.example", subject="cert",
                                          attachment=certificate_pdf(CERT)))
        wait_until(lambda: len(credits(config)) == 1)  # polled, extracted, recorded, receipt queued
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    modules = listing.read_text().split()
    assert {"mailbot.daemon", "mailbot.jobs", "mailbot.extract"} <= set(modules)  # the listing is the daemon's
    assert loaded(modules, NOT_IN_THE_DAEMON) == []


def test_the_extraction_worker_imports_only_the_extraction_path():
    # what `python -m mailbot.extract.worker` imports: the package, the worker, then the reader after its cap
    code = "import sys, mailbot.extract.worker, mailbot.extract.reader; print('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60,
                          cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    modules = done.stdout.split()
    assert "pypdfium2" in modules and "PIL" in modules
    assert loaded(modules, NOT_IN_THE_WORKER) == []
