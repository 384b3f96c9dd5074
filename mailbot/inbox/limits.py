"""Bounds on how much work one message may cause; exceeding one is a readable problem, never a crash."""
from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class MimeLimits:
    # Gmail/Outlook cap sent mail at 25 MB of attachments, ~34 MB once base64-encoded.
    max_message_bytes: int = 40 * MB
    # A real forward has a handful of parts; thousands means a generator gone wrong or an attack.
    max_parts: int = 500
    # Multipart/message nesting; forwards of forwards rarely pass 10. Python's parser
    # itself gives up (RecursionError) somewhere near 900.
    max_depth: int = 50
    max_attachment_bytes: int = 30 * MB
    max_zip_members: int = 100
    max_zip_total_bytes: int = 100 * MB
    # Certificates compress 1.1-3x and even blank scans stay under ~20x; bombs are 1000x+.
    max_zip_ratio: float = 100.0
    # Each header is cut to this before structured parsing, which is slow on huge values.
    max_header_chars: int = 16_384
