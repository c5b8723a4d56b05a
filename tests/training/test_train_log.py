"""``train_summary.log`` (contract §8.10) and the health check's summary string (§4.5)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlcore.training.train_log import (
    FETCH_FAILED,
    HEADER,
    MAX_ROWS,
    LogRow,
    append_rows,
    last_training_summary,
    read_rows,
    run_timestamp,
)

STAMP = "20-Oct-2021 (16:18:30)"
SKIP_1 = (
    "The number of users or items is too small to run the recommendation engine. Skipping tenant 1"
)


def test_rows_are_written_like_the_contracts_examples(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "train_summary.log"
    append_rows(
        path,
        [
            LogRow(STAMP, "hybrid", "0", "success", (7, 12), (31, 58), (0.80123, 0.84334)),
            LogRow(STAMP, "hybrid", "1", SKIP_1),
        ],
    )
    assert path.read_text(encoding="utf-8") == (
        "TIMESTAMP,ALGORITHM,TENANT_ID,MSG,EPOCHS,N_EMBEDDINGS,SCORE\n"
        '20-Oct-2021 (16:18:30),hybrid,0,success,"7, 12","31, 58","0.8012, 0.8433"\n'
        f"20-Oct-2021 (16:18:30),hybrid,1,{SKIP_1},,,\n"
    )
    assert ",".join(HEADER) == "TIMESTAMP,ALGORITHM,TENANT_ID,MSG,EPOCHS,N_EMBEDDINGS,SCORE"


def test_only_the_last_hundred_rows_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "train_summary.log"
    for run in range(3):
        append_rows(path, [LogRow(f"run {run}", "mf", str(t), "success") for t in range(60)])
    rows = read_rows(path)
    assert len(rows) == MAX_ROWS == 100
    assert rows[-1][:3] == ["run 2", "mf", "59"]
    assert rows[0][:3] == ["run 1", "mf", "20"]
    assert path.read_text().startswith("TIMESTAMP,")
    assert not list(tmp_path.glob("*.tmp"))


def test_summary_string_is_exactly_the_contracts_example(tmp_path: Path) -> None:
    path = tmp_path / "train_summary.log"
    append_rows(path, [LogRow("19-Oct-2021 (10:00:00)", "mf", "0", "old run")])
    append_rows(
        path, [LogRow(STAMP, "hybrid", "0", "success"), LogRow(STAMP, "hybrid", "1", "success")]
    )
    assert last_training_summary(path) == (
        "{'TIMESTAMP': '20-Oct-2021 (16:18:30), 20-Oct-2021 (16:18:30)', "
        "'ALGORITHM': 'hybrid, hybrid', 'TENANT_ID': '0, 1', 'MSG': 'success, success'}"
    )


def test_summary_of_a_failed_download_and_of_no_log(tmp_path: Path) -> None:
    path = tmp_path / "train_summary.log"
    assert last_training_summary(path) is None
    assert read_rows(path) == []
    append_rows(path, [LogRow(STAMP, "hybrid", "all", FETCH_FAILED)])
    assert last_training_summary(path) == (
        f"{{'TIMESTAMP': '{STAMP}', 'ALGORITHM': 'hybrid', 'TENANT_ID': 'all', "
        f"'MSG': '{FETCH_FAILED}'}}"
    )


def test_messages_with_commas_and_quotes_survive(tmp_path: Path) -> None:
    path = tmp_path / "train_summary.log"
    message = 'Training failed, the previous model keeps serving: "x" isn\'t valid'
    append_rows(path, [LogRow(STAMP, "hybrid", "3", message)])
    assert read_rows(path)[0][3] == message
    summary = last_training_summary(path)
    assert summary is not None and repr(message) in summary


def test_run_timestamp_format_in_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "NZDT-13")  # POSIX form of UTC+13: needs no tz database
    time.tzset()
    try:
        # 2021-10-20 03:18:30 UTC is 16:18:30 in Auckland (NZDT, UTC+13).
        assert run_timestamp(1634699910) == STAMP
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_unreadable_or_malformed_rows_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "train_summary.log"
    path.write_text(",".join(HEADER) + "\nshort,row\n" + f"{STAMP},mf,0,success,,,\n")
    assert read_rows(path) == [[STAMP, "mf", "0", "success", "", "", ""]]
