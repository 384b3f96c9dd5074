"""`mailbot extract`: JSON lines with the published keys, exit codes 0/1/2, a table, help with an example."""
from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.cli.main import cli
from tests.test_extract_summary import generated

KEYS = ["source", "attachment", "sender", "is_certificate", "person_name", "course_title", "hours", "completed_on",
        "provider", "approval_number", "confidence", "needs_review", "reasons", "error"]


def write(tmp_path: Path, spec_id: str) -> tuple[dict, Path]:
    spec, data, ext = generated(spec_id)
    path = tmp_path / f"{spec_id}.{ext}"
    path.write_bytes(data)
    return spec, path


def run(*args: str):
    return CliRunner().invoke(cli, ["extract", *args])


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_json_lines_have_the_published_keys(tmp_path):
    spec, path = write(tmp_path, "lms-2")
    result = run(str(path), "--json")
    assert result.exit_code == 0, result.output
    (row,) = lines(result.output)
    assert list(row) == KEYS
    expect = spec["expect"]
    assert row["source"] == str(path) and row["attachment"] is None and row["sender"] is None
    assert row["person_name"] == expect["name"] and row["hours"] == expect["hours"]
    assert row["completed_on"] == expect["date"] and row["needs_review"] is False and row["error"] is None


def test_several_certificates_give_several_lines(tmp_path):
    spec, path = write(tmp_path, "multi-3")
    rows = lines(run(str(path), "--json").output)
    assert [r["person_name"] for r in rows] == [e["name"] for e in spec["expect"]]
    assert all(r["needs_review"] and r["reasons"] for r in rows)


def test_not_a_certificate_is_one_line_with_an_error_and_exit_0(tmp_path):
    _, path = write(tmp_path, "invoice")
    result = run(str(path), "--json")
    (row,) = lines(result.output)
    assert result.exit_code == 0
    assert row["is_certificate"] is False and "invoice" in row["error"]


def test_unreadable_input_exits_1_but_reports_the_others(tmp_path):
    _, good = write(tmp_path, "lms-1")
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not really a pdf")
    result = run(str(good), str(bad), str(tmp_path / "missing.pdf"), "--json")
    rows = lines(result.output)
    assert result.exit_code == 1
    assert [r["source"] for r in rows] == [str(good), str(bad), str(tmp_path / "missing.pdf")]
    assert rows[0]["error"] is None and rows[1]["error"] and rows[2]["error"]


def test_usage_error_exits_2():
    assert run().exit_code == 2


def test_table_without_json(tmp_path):
    spec, path = write(tmp_path, "booth-1")
    result = run(str(path))
    assert result.exit_code == 0
    assert spec["expect"]["name"].split()[0] in result.output and "Hours" in result.output


def test_help_ends_with_an_example():
    output = run("--help").output.rstrip()
    assert output.splitlines()[-1].strip().startswith("mailbot extract ")
    assert "Example" in output.splitlines()[-2]


def _email_with(path: Path, sender: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Tech Person <{sender}>"
    message["To"] = "certs@example.com"
    message["Subject"] = "Fwd: your certificate"
    message.set_content("See attached.")
    message.add_attachment(path.read_bytes(), maintype="application", subtype="octet-stream", filename=path.name)
    return message.as_bytes()


def test_email_input_reads_the_attachment_and_the_forwarder(tmp_path):
    pytest.importorskip("mailbot.inbox.mime", reason="mailbot.inbox.mime (read_message) is not written yet")
    spec, pdf = write(tmp_path, "iicrc-oct")
    eml = tmp_path / "forward.eml"
    eml.write_bytes(_email_with(pdf, "Tech.Person@Example.COM"))
    result = run(str(eml), "--json")
    (row,) = lines(result.output)
    assert result.exit_code == 0, result.output
    assert row["attachment"] == pdf.name and row["sender"] == "tech.person@example.com"
    assert row["person_name"] == spec["expect"]["name"]
