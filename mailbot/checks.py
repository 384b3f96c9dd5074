"""`mailbot check`: try each step a working install needs, and say how to fix what fails."""
from __future__ import annotations

from dataclasses import dataclass

from mailbot.app import App


@dataclass(frozen=True)
class Result:
    step: str
    ok: bool
    detail: str
    fix: str = ""


def _try(step: str, func, fix: str) -> Result:  # type: ignore[no-untyped-def]
    try:
        return Result(step, True, func() or "ok")
    except Exception as exc:  # noqa: BLE001 - every failure becomes a readable line
        return Result(step, False, f"{type(exc).__name__}: {exc}", fix)


def _database(app: App) -> str:
    app.engine  # noqa: B018 - connects and creates missing tables
    return app.engine.url.render_as_string(hide_password=True)


def _inbox(app: App, create_folders: bool) -> list[Result]:
    inbox = app.config.inbox
    results = []
    try:
        source = app.source().__enter__()
    except Exception as exc:  # noqa: BLE001
        fix = ("check inbox.host/port/security and the password (MAILBOT_INBOX_PASSWORD); "
               "for Microsoft 365 / Gmail use OAuth2") if inbox.kind == "imap" else f"create {inbox.path}"
        return [Result("inbox connect and login", False, str(exc), fix)]
    try:
        results.append(Result("inbox connect and login", True, source.account))
        results.append(_try("inbox folder", lambda: f"{len(source.folder_state().keys)} message(s) in "
                            f"{inbox.folder}", f"check inbox.folder = {inbox.folder!r}"))
        folders = [inbox.processed_folder, inbox.review_folder]
        if create_folders:
            results.append(_try("processed/review folders", lambda: source.ensure_folders(folders) or
                                "present", "check the account may create folders"))
        else:
            results.append(Result("processed/review folders", True,
                                  f"{', '.join(folders)} (created at the first pass, or now with --create-folders)"))
        results.append(_idle(source))
    finally:
        source.__exit__(None, None, None)
    return results


def _idle(source) -> Result:  # type: ignore[no-untyped-def]
    box = getattr(source, "_box", None)  # IMAP only; Maildir watches the folder instead
    if box is None:
        return Result("new-mail push", True, "folder watch (Maildir)")
    if "IDLE" in getattr(box.client, "capabilities", ()):
        return Result("new-mail push", True, "IMAP IDLE supported")
    return Result("new-mail push", False, "server does not offer IDLE",
                  "nothing to fix: mailbot polls every schedule.poll_seconds instead")


def _outbox(app: App) -> Result:
    out = app.config.outbox
    transport = app.transport()
    if out.kind == "smtp":
        return _try("outbox connect, TLS and login", lambda: transport.verify() or f"{out.host}:{out.port} {out.security}",
                    "check outbox.host/port/security/username and MAILBOT_OUTBOX_PASSWORD")
    path = app.config.resolve_path(out.path)
    return _try("outbox folder", lambda: (path.mkdir(parents=True, exist_ok=True), str(path))[1],
                f"make {path} writable")


def _ocr() -> Result:
    from mailbot.extract import ocr_available

    if ocr_available():
        return Result("OCR (Tesseract)", True, "installed")
    return Result("OCR (Tesseract)", False, "not installed: scans and photos go to review",
                  "apt-get install tesseract-ocr tesseract-ocr-eng")


def _safety(app: App) -> list[Result]:
    iicrc, approvals = app.config.iicrc, app.config.approvals
    live = Result("IICRC sending", True, f"live: submissions go to {iicrc.renewals_address}" if iicrc.live else
                  f"test mode: submissions go to {iicrc.test_address or app.config.company.admins[0]}")
    if approvals.email and not approvals.secret:
        mail = Result("email approvals", True, "off: approvals.secret is not set (CLI approvals only; set "
                      "MAILBOT_APPROVALS_SECRET to 16+ random characters to approve by email)")
    else:
        mail = Result("email approvals", True, "on" if approvals.email else "off (CLI approvals only)")
    return [live, mail]


def run_checks(app: App, *, create_folders: bool = False) -> list[Result]:
    results = [Result("config", True, app.config.source),
               _try("database reachable and tables present", lambda: _database(app),
                    "check database.url; for PostgreSQL that the server runs and the user may create tables")]
    results += _inbox(app, create_folders)
    results.append(_outbox(app))
    results.append(_ocr())
    results += _safety(app)
    return results
