"""What a newcomer runs into first: version, pipes, one-line errors, warnings, folders."""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import pytest

from mlcore import __version__
from service.cli import configure_logging, main
from tests.support.serve_process import ROOT


def mlservice(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=kwargs.pop("cwd", ROOT),
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,  # type: ignore[call-overload]
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"mlservice {__version__}"


def test_a_closed_pipe_is_quiet() -> None:
    shell = f"{sys.executable} -m service.cli config --markdown | head -n 1"
    result = subprocess.run(
        ["bash", "-c", shell], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.startswith("| Variable |") and result.stderr == ""


def test_expected_errors_are_one_line_unless_verbose(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    quiet = mlservice("tune", "--movielens", str(missing), "--quiet")
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    (line,) = quiet.stderr.strip().splitlines()
    assert line.startswith(
        f"mlservice tune: error: --movielens {missing}: ml-latest-small not found"
    )
    assert "ml-latest-small.zip" in line
    verbose = mlservice("-v", "tune", "--movielens", str(missing), "--quiet")
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr


def test_a_broken_csv_is_one_clear_line_per_tenant(tmp_path: Path) -> None:
    export = tmp_path / "export"
    assert mlservice("demo-data", str(export), "--tenants", "1", "--users", "30", "--items", "20",
                     "--interactions", "300").returncode == 0  # fmt: skip
    (export / "user_interactions_0.csv").write_text("user_id,item_id,rating,timestamp\n1,x,y\n")
    trained = mlservice("train", "--quiet", "--data-dir", str(export), "--models-dir",
                        str(tmp_path / "m"), "--logs-dir", str(tmp_path / "l"), "--recommender",
                        "popularity")  # fmt: skip
    assert trained.returncode == 1 and "Traceback" not in trained.stderr
    assert "user_interactions_0.csv" in trained.stderr
    assert (tmp_path / "l" / "train_summary.log").exists()  # --logs-dir, not data/logs
    assert not (tmp_path / "data").exists()


def test_diverging_trial_warnings_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logging.captureWarnings(False)  # an earlier main() in this process may have left it on
    with warnings.catch_warnings():
        configure_logging(verbose=False)
        try:
            root.addHandler(caplog.handler)
            caplog.set_level(logging.WARNING, logger="py.warnings")
            message = f"overflow encountered in exp ({uuid.uuid4().hex})"
            for _ in range(5):
                warnings.warn(message, RuntimeWarning, stacklevel=1)
        finally:
            logging.captureWarnings(False)
            root.handlers[:] = handlers
            root.setLevel(level)
    records = [r for r in caplog.records if r.name == "py.warnings"]
    assert len(records) == 1 and "overflow encountered" in records[0].getMessage()


def test_every_command_with_models_dir_has_logs_dir() -> None:
    from service.cli import build_parser

    parser = build_parser()
    for name in ("train", "recommend", "models list", "models show", "models rollback"):
        help_text = mlservice(*name.split(), "--help").stdout
        assert "--models-dir" in help_text and "--logs-dir" in help_text, name
    assert parser.prog == "mlservice"


def test_tuning_report_without_matplotlib_is_markdown_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from mlcore.interfaces import TuningReport
    from service.commands.tune_report import PLOTS_HINT, write_report

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    trials = ({"number": 0, "state": "complete", "score": 0.2, "params": {"a": 1}},)
    report = TuningReport(best_params={"a": 1}, best_score=0.2, metric="ndcg@10", trials=trials)
    summary = write_report(tmp_path, report, title="T", context={}, metrics={})
    assert f"No plots: {PLOTS_HINT}." in summary.read_text()
    assert list(tmp_path.glob("*.png")) == [] and "matplotlib is not installed" in caplog.text
