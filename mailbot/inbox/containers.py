"""Opening the containers a certificate can hide in: .zip archives and winmail.dat (TNEF).

Both yield (safe filename, bytes) members plus readable problems; neither raises.
Zip members are read through a size cap, because the sizes a zip declares can lie.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from mailbot.inbox.limits import MB, MimeLimits
from mailbot.inbox.names import safe_filename


@dataclass
class Opened:
    members: list[tuple[str | None, bytes]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def open_zip(data: bytes, label: str, limits: MimeLimits) -> Opened:
    opened = Opened()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [info for info in archive.infolist() if _is_real_file(info)]
    except Exception as exc:  # noqa: BLE001 - zipfile raises many types on corrupt input
        opened.problems.append(f"{label}: not a readable zip archive ({type(exc).__name__})")
        return opened
    refusal = _zip_refusal(infos, label, limits)
    if refusal:
        opened.problems.append(refusal)
        return opened
    budget = limits.max_zip_total_bytes
    for info in infos:
        member, problem = _read_member(archive, info, label, limits, budget)
        if problem:
            opened.problems.append(problem)
        if member is not None:
            budget -= len(member)
            opened.members.append((safe_filename(info.filename), member))
    return opened


def _is_real_file(info: zipfile.ZipInfo) -> bool:
    """Skip folders and macOS resource-fork litter (__MACOSX/, ._name)."""
    base = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
    return not info.is_dir() and not info.filename.startswith("__MACOSX/") and not base.startswith("._")


def _zip_refusal(infos: list[zipfile.ZipInfo], label: str, limits: MimeLimits) -> str | None:
    if len(infos) > limits.max_zip_members:
        return f"{label}: zip has {len(infos)} files, over the limit of {limits.max_zip_members}; not opened"
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_zip_total_bytes:
        return (f"{label}: zip would unpack to {declared / MB:.0f} MB, over the "
                f"{limits.max_zip_total_bytes / MB:.0f} MB limit (a zip bomb?); not opened")
    return None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, limits: MimeLimits,
                 budget: int) -> tuple[bytes | None, str | None]:
    where = f"{label}/{safe_filename(info.filename) or '?'}"
    if info.flag_bits & 0x1:
        return None, f"{where}: password-protected inside the zip; not opened"
    cap = min(limits.max_attachment_bytes, budget)
    # Compare against the real output too: declared sizes in a hostile zip are fiction.
    ratio_cap = int(max(info.compress_size, 1) * limits.max_zip_ratio)
    try:
        with archive.open(info) as stream:
            data = stream.read(min(cap, ratio_cap) + 1)
    except Exception as exc:  # noqa: BLE001 - bad CRC, unsupported method, truncation …
        return None, f"{where}: could not be unpacked ({type(exc).__name__})"
    if len(data) > ratio_cap:
        return None, (f"{where}: compressed more than {limits.max_zip_ratio:.0f}:1 "
                      "(a zip bomb?); not unpacked")
    if len(data) > cap:
        return None, f"{where}: larger than the size limit; not unpacked"
    return data, None


def open_tnef(data: bytes, label: str) -> Opened | None:
    """Attachments inside a winmail.dat, or None when the bytes are not TNEF at all
    (Outlook also labels plain files application/ms-tnef: the caller then sniffs them)."""
    try:
        import tnefparse

        tnef = tnefparse.TNEF(data)
    except Exception:  # noqa: BLE001 - wrong signature, truncated stream …
        return None
    opened = Opened()
    for attachment in _tnef_attachments(tnef, label, opened.problems):
        opened.members.append(attachment)
    return opened


def _tnef_attachments(tnef, label: str, problems: list[str]) -> Iterator[tuple[str | None, bytes]]:
    for attachment in getattr(tnef, "attachments", []) or []:
        try:
            name = attachment.long_filename() or attachment.name
            payload = attachment.data
        except Exception as exc:  # noqa: BLE001 - one broken attachment must not hide the others
            problems.append(f"{label}: an attachment could not be read ({type(exc).__name__})")
            continue
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        if isinstance(payload, (bytes, bytearray)):
            yield safe_filename(name), bytes(payload)
