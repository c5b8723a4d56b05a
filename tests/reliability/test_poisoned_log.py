"""A poisoned ``train_summary.log`` must not break monitoring or training (issue 14, item 1).

A 200 KiB header cell of an export used to travel into the error message, the message
into ``train_summary.log``, and from then on ``/health-check`` answered 500 (``_csv.Error:
field larger than field limit``) and every later run crashed at its end. Here:

* every parser error quotes input through one cap (:func:`mlcore.errors.quoted`), so no
  message grows with the input (hypothesis over the four export files);
* a huge cell in an export gives a short log row, the health check answers, the next
  run writes its rows;
* a log poisoned before the fix (a 200 KiB cell, invalid UTF-8, NUL bytes, a torn row)
  is read defensively and healed by the next run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlcore.errors import QUOTE_LIMIT, ExportFormatError, quoted
from mlcore.totara.export_files import (
    parse_interactions,
    parse_item_data,
    parse_tenants,
    parse_user_data,
)
from mlcore.training.train_log import (
    CELL_LIMIT,
    HEADER,
    LogRow,
    append_rows,
    last_training_summary,
    read_rows,
)
from tests.support.training_support import export_settings, health_block, train, write_small_export

HUGE = 200 * 1024
#: Longest message any parser may raise: file, line, column, words and one quoted value.
MESSAGE_BOUND = 300 + QUOTE_LIMIT


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_export(tmp_path_factory.mktemp("export"))


@given(st.integers(0, 3 * HUGE), st.text(max_size=30))
def test_quoted_input_never_exceeds_the_cap(size: int, tail: str) -> None:
    value = "x" * size + tail
    text = quoted(value)
    assert len(text) <= QUOTE_LIMIT + 40
    if len(repr(value)) <= QUOTE_LIMIT:
        assert text == repr(value)
    else:
        assert text.endswith(f"… ({len(value)} characters)")
        assert text[1:11] == value[:10] or size < 10


GOOD_INTERACTIONS = "user_id,item_id,rating,timestamp\n2,engage_article1,1,1700000000\n"
GOOD_ITEMS_HEADER = (
    "item_id,container_course,container_workspace,engage_article,engage_microlearning,"
    "totara_playlist,document\n"
)
PARSERS = {
    "tenants header": (parse_tenants, "tenants.csv", "{cell}\n0\n"),
    "tenant id": (parse_tenants, "tenants.csv", "tenants\n{cell}\n"),
    "interactions header": (parse_interactions, "i.csv", "user_id,item_id,rating,{cell}\n"),
    "extra header column": (
        parse_interactions,
        "i.csv",
        "user_id,item_id,rating,timestamp,{cell}\n",
    ),
    "rating": (parse_interactions, "i.csv", "user_id,item_id,rating,timestamp\n2,a,{cell},1\n"),
    "competencies": (
        parse_user_data,
        "u.csv",
        "user_id,lang,city,country,interests,asp_position,positions,organisations,"
        "competencies_scale,badges,description\n2,,,,,,,,{cell},,\n",
    ),
    "repeated user id": (
        parse_user_data,
        "u.csv",
        "user_id,lang,city,country,interests,asp_position,positions,organisations,"
        "competencies_scale,badges,description\n{cell},,,,,,,,,,\n{cell},,,,,,,,,,\n",
    ),
    "item id": (parse_item_data, "t.csv", GOOD_ITEMS_HEADER + "{cell},0,0,1,0,0,text\n"),
    "item flag": (
        parse_item_data,
        "t.csv",
        GOOD_ITEMS_HEADER + "engage_article1,0,0,{cell},0,0,\n",
    ),
    "topic column": (
        parse_item_data,
        "t.csv",
        GOOD_ITEMS_HEADER.replace("document", "{cell},document"),
    ),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(PARSERS)),
    st.integers(1, HUGE),
    st.text(alphabet="abz:é|x-", min_size=1, max_size=20),
)
def test_no_parser_error_grows_with_the_input(case: str, size: int, tail: str) -> None:
    parse, file_name, template = PARSERS[case]
    cell = ("q" * size + tail).replace("|", "p")
    try:
        parse(template.format(cell=cell).encode("utf-8"), file_name)
    except ExportFormatError as exc:
        assert len(str(exc)) <= MESSAGE_BOUND, (case, len(str(exc)))


def _poison_header(export_folder: Path, target: Path) -> Path:
    """A copy of the export whose tenant 1 interactions header has a 200 KiB cell."""
    target.mkdir()
    for path in export_folder.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    interactions = target / "user_interactions_1.csv"
    lines = interactions.read_text().split("\n", 1)
    interactions.write_text("user_id,item_id,rating," + "T" * HUGE + "\n" + lines[1])
    return target


def test_a_huge_header_cell_gives_a_short_row_and_monitoring_keeps_working(
    export_folder: Path, tmp_path: Path
) -> None:
    folder = _poison_header(export_folder, tmp_path / "export")
    settings = export_settings(folder, tmp_path)
    first = {o.tenant: o for o in train(settings)}
    assert first["1"].failed and not first["0"].failed
    assert "user_interactions_1.csv, line 1, column 4: header column is 'TTTT" in first["1"].message
    assert f"({HUGE} characters)" in first["1"].message
    assert len(first["1"].message) <= MESSAGE_BOUND + 100
    second = {o.tenant: o for o in train(settings)}  # crashed at its end before the fix
    assert second["0"].version and second["0"].version != first["0"].version
    block = health_block(settings)
    assert block["last_recommendation_model_training"] == last_training_summary(
        settings.train_log_path
    )
    assert "header column is 'TTTT" in block["last_recommendation_model_training"]
    assert (
        max(len(cell) for row in read_rows(settings.train_log_path) for cell in row) <= CELL_LIMIT
    )


def _write_poisoned_log(path: Path, last_stamp: str) -> None:
    """A log as the service wrote it before the fix: a 200 KiB MSG (over the ``csv``
    module's field limit), a 100 KiB one (under it), then a normal row."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for size in (HUGE, HUGE // 2):
            message = "Training failed: " + "T" * size
            writer.writerow(["01-Jan-2026 (10:00:00)", "hybrid", "1", message, "", "", ""])
        writer.writerow([last_stamp, "hybrid", "0", "success", "", "", ""])


def test_a_log_poisoned_before_the_fix_is_read_defensively_and_healed(
    export_folder: Path, tmp_path: Path
) -> None:
    settings = export_settings(export_folder, tmp_path)
    train(settings)
    _write_poisoned_log(settings.train_log_path, "02-Jan-2026 (10:00:00)")
    assert last_training_summary(settings.train_log_path) == (
        "{'TIMESTAMP': '02-Jan-2026 (10:00:00)', 'ALGORITHM': 'hybrid', 'TENANT_ID': '0', "
        "'MSG': 'success'}"
    )
    block = health_block(settings)  # a 500 before the fix
    assert "02-Jan-2026 (10:00:00)" in block["last_recommendation_model_training"]
    outcomes = train(settings)
    assert not any(o.failed for o in outcomes)
    rows = read_rows(settings.train_log_path)
    # The unreadable row is dropped, the readable one cut, the good one kept as it was.
    assert len(rows) == 2 + len(outcomes)
    assert max(len(cell) for row in rows for cell in row) <= CELL_LIMIT + 30
    assert rows[0][3].startswith("Training failed: TTT")
    assert rows[0][3].endswith(f"({HUGE // 2 + 17} characters)")
    assert rows[1][:4] == ["02-Jan-2026 (10:00:00)", "hybrid", "0", "success"]
    block = health_block(settings)
    assert block["last_recommendation_model_training"] == last_training_summary(
        settings.train_log_path
    )


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(b"\xff\xfe\x80 not UTF-8\n", id="invalid UTF-8"),
        pytest.param(b"a,b\x00c,d\n", id="NUL byte"),
        pytest.param(b'x,"never closed\n' + b"y" * 300_000, id="torn quoted row"),
    ],
)
def test_a_damaged_log_never_breaks_the_health_check(
    export_folder: Path, tmp_path: Path, damage: bytes
) -> None:
    settings = export_settings(export_folder, tmp_path)
    train(settings)
    good = last_training_summary(settings.train_log_path)
    with open(settings.train_log_path, "ab") as handle:
        handle.write(damage)
    block = health_block(settings)
    assert block["last_recommendation_model_training"] == good
    append_rows(settings.train_log_path, [LogRow("03-Jan-2026 (10:00:00)", "mf", "9", "ok")])
    assert read_rows(settings.train_log_path)[-1][:4] == ["03-Jan-2026 (10:00:00)", "mf", "9", "ok"]
