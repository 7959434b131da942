"""The dxplan command: users, demo seed, openapi."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from app.cli import main
from app.core.config import REPO_ROOT, get_settings


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("APP_ENV", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_users_create_and_list(
    cli_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DXPLAN_NEW_PASSWORD", "Mat-khau-dong-lenh-2358")
    main(
        [
            "users",
            "create",
            "--username",
            "cli.reviewer",
            "--agency",
            "HP_SKHCN",  # Sở TTTT's successor today: Sở TTTT ended on 2025-02-28
            "--role",
            "reviewer",
            "--full-name",
            "Đỗ Thị F",
        ]
    )
    created: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert (created["username"], created["role"], created["agency"]["code"]) == (
        "cli.reviewer",
        "reviewer",
        "HP_SKHCN",
    )
    main(["users", "list", "--agency", "HP_SKHCN"])
    lines = capsys.readouterr().out.splitlines()
    assert any(
        line.split()[:4] == ["cli.reviewer", "HP_SKHCN", "reviewer", "active"] for line in lines
    )


def test_users_create_refuses_bad_input(cli_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DXPLAN_NEW_PASSWORD", "short")
    with pytest.raises(SystemExit) as weak:
        main(["users", "create", "--username", "weak", "--agency", "HP_SYT", "--role", "officer"])
    assert "too short" in str(weak.value)
    monkeypatch.setenv("DXPLAN_NEW_PASSWORD", "Mat-khau-dong-lenh-2358")
    with pytest.raises(SystemExit) as wrong_agency:
        main(["users", "create", "--username", "rev2", "--agency", "HP_SYT", "--role", "reviewer"])
    assert "Reviewers must belong to Sở TTTT or to the department that succeeds it" in str(
        wrong_agency.value
    )
    with pytest.raises(SystemExit) as ended:
        main(["users", "create", "--username", "cli.old", "--agency", "STTTT", "--role", "officer"])
    assert "Sở Thông tin và Truyền thông (STTTT) ended on 28/02/2025" in str(ended.value)
    assert "Sở Khoa học và Công nghệ thành phố Hải Phòng (HP_SKHCN)" in str(ended.value)


def test_demo_seed_is_idempotent_and_refused_in_production(
    cli_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    main(["seed", "--demo"])
    first = json.loads(capsys.readouterr().out)
    assert first["demo_users_created"] == [
        "demo.admin",
        "demo.reviewer",
        "demo.observer",
        "demo.lead",
        "demo.officer",
        "demo.officer2",
    ]
    main(["seed", "--demo"])
    assert json.loads(capsys.readouterr().out)["demo_users_created"] == []
    monkeypatch.setenv("APP_ENV", "production")
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as refused:
        main(["seed", "--demo"])
    assert "refusing" in str(refused.value)


def test_openapi_command_prints_the_committed_contract(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["openapi"])
    printed = json.loads(capsys.readouterr().out)
    committed = json.loads((REPO_ROOT / "openapi" / "openapi.json").read_text("utf-8"))
    assert printed == committed


def test_rebuild_read_models(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    main(["rebuild-read-models"])
    counts = json.loads(capsys.readouterr().out)
    assert sorted(counts) == [
        "indicator_value_latest",
        "indicator_value_yearly",
        "task_progress_latest",
    ]
    assert all(isinstance(n, int) and n >= 0 for n in counts.values())
