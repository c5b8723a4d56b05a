"""``mlservice demo-data``, ``train``, ``recommend``, ``models`` and ``config`` end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcore.config import VARIABLES
from mlcore.item_types import COMPONENTS
from mlcore.training.train_log import read_rows
from service.cli import main

SECRET = "do-not-print-Zq81"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(VARIABLES) + ["ML_CONFIG_FILE"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ML_LOGS_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("ML_TUNING_TRIALS", "0")
    monkeypatch.setenv("ML_NUM_THREADS", "1")
    monkeypatch.setenv("ML_RECOMMENDER", "popularity")
    return tmp_path


@pytest.fixture
def trained(env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    export = env / "export"
    args = ["--tenants", "3", "--users", "60", "--items", "40", "--interactions", "900"]
    assert main(["demo-data", str(export), *args, "--now", "1790000000"]) == 0
    assert "tenant" in capsys.readouterr().out
    assert (
        main(["train", "--quiet", "--data-dir", str(export), "--models-dir", str(env / "m")]) == 0
    )
    return env / "m"


def test_train_prints_a_summary_and_writes_the_log(
    trained: Path, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    main(["train", "--quiet", "--data-dir", str(env / "export"), "--models-dir", str(trained)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == [
        "tenant",
        "version",
        "users",
        "items",
        "interactions",
        "ndcg@10",
    ]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"0", "1", "2"}
    users, items, interactions = rows["0"].split()[2:5]
    assert (users, items) == ("60", "40") and 850 <= int(interactions) <= 900
    assert rows["0"].endswith("success") and "popularity" in rows["0"]
    assert "Skipping tenant 2" in rows["2"]
    log_rows = read_rows(env / "logs" / "train_summary.log")
    assert [r[2] for r in log_rows] == ["0", "1", "2", "0", "1", "2"]


def test_unknown_recommender_is_a_clear_error(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo-data", str(env / "e"), "--tenants", "1", "--users", "20"]) == 0
    code = main(["train", "--data-dir", str(env / "e"), "--recommender", "nope"])
    assert code == 2
    assert "Unknown recommender 'nope'. Valid names:" in capsys.readouterr().err


def _ranked(output: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines() if line.strip()[:1].isdigit()]


def test_recommend_for_a_known_user(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    for component in COMPONENTS:
        args = ["recommend", "--models-dir", str(trained), "--user", "3", "--type", component]
        assert main([*args, "-n", "4"]) == 0
        ranked = _ranked(capsys.readouterr().out)
        assert 0 < len(ranked) <= 4
        assert all(item.rstrip("0123456789") == component for item in ranked)


def test_recommend_unknown_user_falls_back_to_popular_or_errors(
    trained: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    capsys.readouterr()
    args = ["recommend", "--models-dir", str(trained), "--user", "999999", "--type"]
    assert main([*args, "engage_article", "-n", "3"]) == 0
    out = capsys.readouterr().out
    assert "unknown" in out and len(_ranked(out)) == 3
    monkeypatch.setenv("ML_UNKNOWN_USER", "error")
    assert main([*args, "engage_article"]) == 2
    assert "no such user id" in capsys.readouterr().err


def test_similar_items_stay_in_the_family(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["recommend", "--models-dir", str(trained), "--item", "totara_playlist1", "-n", "50"]
    assert main(args) == 0
    ranked = _ranked(capsys.readouterr().out)
    assert ranked and all(item.startswith("totara_playlist") for item in ranked)
    assert "totara_playlist1" not in ranked
    assert main([*args[:-4], "--item", "totara_playlist99999"]) == 2
    assert "no such item id" in capsys.readouterr().err


def test_recommend_refuses_bad_tenants_and_reports_skipped_ones(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    base = ["recommend", "--models-dir", str(trained), "--user", "3", "--type", "engage_article"]
    assert main([*base, "--tenant", "2"]) == 1
    assert "too small" in capsys.readouterr().out
    assert main([*base, "--tenant", "../../etc"]) == 2
    assert "not allowed" in capsys.readouterr().err
    assert main(["recommend", "--models-dir", str(trained), "--user", "3"]) == 2


def test_models_list_show_and_rollback(
    trained: Path, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["train", "--quiet", "--data-dir", str(env / "export"), "--models-dir", str(trained)])
    capsys.readouterr()
    assert main(["models", "list", "--models-dir", str(trained)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith(f"Models in {trained.resolve()} ")
    listing = listing[1:]
    assert [line.split()[0] for line in listing[1:]] == ["0", "1", "2"]
    first_current = listing[1].split()[1]
    assert listing[1].split()[2] == "2"  # two kept versions
    assert main(["models", "show", "--models-dir", str(trained), "--tenant", "0"]) == 0
    shown = capsys.readouterr().out
    assert '"message": "success"' in shown and '"files"' not in shown
    assert main(["models", "rollback", "--models-dir", str(trained), "--tenant", "0"]) == 0
    assert f"was {first_current}" in capsys.readouterr().out
    main(["models", "list", "--models-dir", str(trained)])
    assert capsys.readouterr().out.splitlines()[2].split()[1] != first_current
    assert main(["models", "rollback", "--models-dir", str(trained), "--tenant", "0"]) == 2
    assert "keeps no version older" in capsys.readouterr().err
    empty = trained.parent / "no-models"
    assert main(["models", "rollback", "--models-dir", str(empty), "--tenant", "0"]) == 2
    message = capsys.readouterr().err
    assert "has no published model" in message and "None" not in message


def test_config_lists_every_variable_and_never_the_key(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ML_TOTARA_KEY", SECRET)
    monkeypatch.setenv("ML_ADMIN_KEY", SECRET + "-admin")
    monkeypatch.setenv("ML_NUM_THREADS", "3")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    shown = {line.split()[0]: line.split()[1] for line in out.splitlines()}
    assert set(VARIABLES) <= set(shown)
    assert shown["ML_TOTARA_KEY"] == "set" and shown["ML_NUM_THREADS"] == "3"
    assert shown["ML_ADMIN_KEY"] == "set" and shown["ML_ADMIN_BIND"] == "127.0.0.1:5001"
    monkeypatch.delenv("ML_TOTARA_KEY")
    assert main(["config", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| `ML_TOTARA_KEY` | `not set` |" in out
