"""The `ember` command line: `load` reports and sets the exit code; `serve` still parses."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ember import cli


def test_load_exit_code_and_summary(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.ndjson"
    good.write_bytes(orjson.dumps({"resourceType": "Patient", "id": "a"}) + b"\n")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"[]")

    assert cli.main(["load", "--database", database_url, "--workers", "1", str(good)]) == 0
    assert "Loaded 1 resources from 1 files" in capsys.readouterr().err

    assert cli.main(["load", "--database", database_url, "--quiet", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: not a FHIR resource" in err
    assert "1 failures in 1 files" in err


def test_serve_is_still_a_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # `serve` hands its flags to worker processes through EMBER_* variables: undo that.
    monkeypatch.setenv("EMBER_PORT", "8080")
    monkeypatch.setenv("EMBER_DATABASE_URL", "sqlite:///y.db")
    ran: dict[str, object] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **options: ran.update(options, app=app))
    assert cli.main(["serve", "--port", "8099", "--database", "sqlite:///x.db"]) == 0
    assert ran["port"] == 8099
    assert ran["app"] == "ember.api.server:app_from_env"
