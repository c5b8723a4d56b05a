"""``mlservice legacy`` end to end: outputs read back the way Totara's import reads them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from mlcore.config import load_settings
from mlcore.configured import configured_plugins
from mlcore.item_types import COMPONENTS
from mlcore.legacy.batch import COMPLETED, FAILED, STARTED, LegacyBatch, tenant_trainer
from mlcore.legacy.outputs import OutputOptions, TenantFiles
from plugins.export_folder_source import ExportFolderSource
from service.cli import main
from tests.support.legacy_support import import_i2i, import_i2u, write_tenant, write_tenants

USER_COUNT, ITEM_COUNT = 4, 3
TOO_SMALL = "The number of users or items is too small"
NO_INTERACTIONS = "The number of interactions is too small"


@pytest.fixture(autouse=True)
def popularity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_RECOMMENDER", "popularity")
    monkeypatch.delenv("ML_CONFIG_FILE", raising=False)
    monkeypatch.delenv("ML_SEEN_ITEMS", raising=False)


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    """Tenants: 1 and 6 normal, 2 tiny, 3 empty files, 4 header-only files, 5 no interactions."""
    folder = tmp_path / "data"
    folder.mkdir()
    write_tenants(folder, ["1", "2", "3", "4", "5", "6"])
    write_tenant(folder, "1", users=30, items_per_type=6, seed=1)
    write_tenant(folder, "2", users=5, items_per_type=3, seed=2)
    for name in ("user_interactions", "user_data", "item_data"):
        (folder / f"{name}_3.csv").write_text("")
    write_tenant(folder, "4", users=1, items_per_type=1)
    for name in ("user_interactions", "user_data", "item_data"):
        header = (folder / f"{name}_4.csv").read_text().splitlines()[0]
        (folder / f"{name}_4.csv").write_text(header + "\n")
    write_tenant(folder, "5", users=12, items_per_type=3, seed=5)
    (folder / "user_interactions_5.csv").write_text("")
    write_tenant(folder, "6", users=15, items_per_type=4, seed=6)
    return folder


def legacy(folder: Path, *extra: str, users: int = USER_COUNT, items: int = ITEM_COUNT) -> int:
    return main(
        [
            "legacy",
            "--query",
            "mf",
            "--result_count_user",
            str(users),
            "--result_count_item",
            str(items),
            "--threads",
            "1",
            "--data_path",
            str(folder),
            *extra,
        ]
    )


def read_table(folder: Path, name: str) -> list[list[str]]:
    lines = (folder / name).read_text().splitlines()
    return [line.split(",") for line in lines[1:] if line]


def test_every_tenant_gets_files_totara_imports(export: Path) -> None:
    assert legacy(export) == 0
    for tenant in ("1", "6"):
        i2u_text = (export / f"i2u_{tenant}.csv").read_text()
        assert i2u_text.startswith("uid,iid,ranking\n") and i2u_text.endswith("\n")
        assert "\r" not in i2u_text
        for line in i2u_text.splitlines()[1:]:
            assert len(line.split(",")[2].split(".")[1]) == 12
        check_i2u(export, tenant, import_i2u(export / f"i2u_{tenant}.csv"))
        check_i2i(export, tenant, import_i2i(export / f"i2i_{tenant}.csv"))
    for tenant in ("2", "3", "4", "5"):
        assert (export / f"i2i_{tenant}.csv").read_bytes() == b"target_iid,similar_iid,ranking"
        assert (export / f"i2u_{tenant}.csv").read_bytes() == b"uid,iid,ranking"
    assert sorted(p.name for p in export.glob("*.tmp")) == []


def check_i2u(folder: Path, tenant: str, rows: list) -> None:
    users = [row[0] for row in read_table(folder, f"user_data_{tenant}.csv")]
    items = [row[0] for row in read_table(folder, f"item_data_{tenant}.csv")]
    interactions = read_table(folder, f"user_interactions_{tenant}.csv")
    positives = {(r[0], r[1]) for r in interactions if r[2] == "1"}
    by_user: dict[tuple[str, str], list] = defaultdict(list)
    for row in rows:
        assert row.unique_id in items and row.component in COMPONENTS
        assert (row.first, row.unique_id) not in positives, "seen items are excluded"
        by_user[(row.first, row.component)].append(row)
    for user in users:
        for component in COMPONENTS:
            ranked = by_user[(user, component)]
            available = [i for i in items if i.startswith(component) and (user, i) not in positives]
            assert len(ranked) == min(USER_COUNT, len(available))
            scores = [r.score for r in ranked]
            assert scores == sorted(scores, reverse=True)
            assert len({r.unique_id for r in ranked}) == len(ranked)
    assert {row.first for row in rows} == set(users)


def check_i2i(folder: Path, tenant: str, rows: list) -> None:
    items = {row[0] for row in read_table(folder, f"item_data_{tenant}.csv")}
    by_target: dict[str, list] = defaultdict(list)
    for row in rows:
        assert row.first in items and row.unique_id in items and row.first != row.unique_id
        assert f"{row.target_component}{row.target_item_id}" == row.first
        by_target[row.first].append(row)
    assert by_target, "similar items are listed"
    for ranked in by_target.values():
        assert 1 <= len(ranked) <= ITEM_COUNT
        scores = [r.score for r in ranked]
        assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 + 1e-6 for s in scores)


def test_flags_ml_started_before_outputs_and_ml_completed_last(export: Path) -> None:
    settings = load_settings()
    source = ExportFolderSource(export)
    seen: list[tuple[str, bool, bool]] = []

    def progress(files: TenantFiles) -> None:
        assert (export / f"i2u_{files.tenant}.csv").exists()
        seen.append((files.tenant, (export / STARTED).exists(), (export / COMPLETED).exists()))

    times = iter([1000.0, 2000.0])
    train = tenant_trainer(configured_plugins(settings))
    batch = LegacyBatch(source, train, clock=lambda: next(times), progress=progress)
    run = batch.run(export, OutputOptions(result_count_user=2, result_count_item=2))
    assert [t for t, _, _ in seen] == ["1", "2", "3", "4", "5", "6"]
    assert all(started and not completed for _, started, completed in seen)
    assert (export / STARTED).read_text() == "1000"
    assert (export / COMPLETED).read_text() == "2000"
    assert [f.message.startswith(TOO_SMALL) for f in run.tenants] == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    assert run.tenants[4].message.startswith(NO_INTERACTIONS)


@pytest.mark.parametrize("content", [b"tenants\n", b"tenants", b""])
def test_empty_or_header_only_tenants_file_means_tenant_0(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "tenants.csv").write_bytes(content)
    write_tenant(tmp_path, "0", users=12, items_per_type=3)
    assert legacy(tmp_path) == 0
    assert len(import_i2u(tmp_path / "i2u_0.csv")) > 0
    assert (tmp_path / COMPLETED).exists()


def test_existing_ml_started_exits_0_and_touches_nothing(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (export / STARTED).write_text("123")
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in export.iterdir()}
    assert legacy(export) == 0
    assert "ml_started exists" in capsys.readouterr().out
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in export.iterdir()} == before


@pytest.mark.parametrize(
    "drop", ["--query", "--result_count_user", "--result_count_item", "--threads", "--data_path"]
)
def test_every_argument_is_required(export: Path, drop: str) -> None:
    argv = ["legacy", "--query", "mf", "--result_count_user", "2", "--result_count_item", "2"]
    argv += ["--threads", "1", "--data_path", str(export)]
    index = argv.index(drop)
    with pytest.raises(SystemExit) as exit_info:
        main(argv[:index] + argv[index + 2 :])
    assert exit_info.value.code == 2
    assert not (export / STARTED).exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("--query", "svd"),
        ("--result_count_user", "-1"),
        ("--result_count_item", "ten"),
        ("--threads", "0"),
        ("--data_path", "/nonexistent/folder"),
    ],
)
def test_invalid_arguments_are_usage_errors(export: Path, name: str, value: str) -> None:
    values = {"--query": "mf", "--result_count_user": "2", "--result_count_item": "2"}
    values |= {"--threads": "1", "--data_path": str(export), name: value}
    argv = ["legacy"] + [part for pair in values.items() for part in pair]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert not (export / STARTED).exists()


def test_failure_mid_run_keeps_earlier_outputs_and_never_completes(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = tmp_path / "reference"
    shutil.copytree(export, reference)
    write_tenants(reference, ["1"])
    assert legacy(reference) == 0
    good = (export / "user_data_2.csv").read_text()
    (export / "user_data_2.csv").write_text(good + '7,en,"unclosed quote\n')
    (export / "i2u_2.csv").write_text("earlier content")
    assert legacy(export) != 0
    error = capsys.readouterr().err
    assert "user_data_2.csv" in error and "line" in error
    assert not (export / COMPLETED).exists()
    assert (export / STARTED).exists() and (export / FAILED).exists()
    for name in ("i2i_1.csv", "i2u_1.csv"):
        assert (export / name).read_bytes() == (reference / name).read_bytes()
    assert (export / "i2u_2.csv").read_text() == "earlier content"
    assert not (export / "i2i_3.csv").exists()
    assert list(export.glob(".*")) == []
    # Fixed data: the next run is a retry and completes.
    (export / "user_data_2.csv").write_text(good)
    assert legacy(export) == 0
    assert (export / COMPLETED).exists() and not (export / FAILED).exists()
    assert (export / "i2u_2.csv").read_bytes() == b"uid,iid,ranking"


def test_downrank_setting_keeps_seen_items_below_others(
    export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ML_SEEN_ITEMS", "downrank")
    write_tenants(export, ["1"])
    assert legacy(export, users=6) == 0
    rows = import_i2u(export / "i2u_1.csv")
    interactions = read_table(export, "user_interactions_1.csv")
    positives = {(r[0], r[1]) for r in interactions if r[2] == "1"}
    seen_rows = [r for r in rows if (r.first, r.unique_id) in positives]
    assert seen_rows, "down-ranked seen items still appear"
    per_user = defaultdict(list)
    for row in rows:
        per_user[(row.first, row.component)].append(row)
    assert all(len(v) == 6 for v in per_user.values())


def test_rankings_are_the_model_scores(export: Path) -> None:
    """Against brute force on known factors: i2u scores and order, i2i cosines."""
    from mlcore.interfaces import ModelArtifact, ServingArrays
    from mlcore.legacy.outputs import write_tenant_files
    from mlcore.serving.artifact import build_artifact
    from mlcore.totara.dataset_builder import load_tenant_dataset

    dataset = load_tenant_dataset(ExportFolderSource(export), "6")
    rng = np.random.default_rng(11)
    serving = ServingArrays(
        "factors",
        rng.standard_normal((dataset.n_users, 3)).astype(np.float32),
        rng.standard_normal(dataset.n_users).astype(np.float32),
        rng.standard_normal((dataset.n_items, 3)).astype(np.float32),
        rng.standard_normal(dataset.n_items).astype(np.float32),
    )
    artifact: ModelArtifact = build_artifact(
        dataset, serving, backend="test", algorithm="mf", details={}
    )
    options = OutputOptions(result_count_user=2, result_count_item=3, seen_items="downrank")
    write_tenant_files(export, dataset, artifact, options)
    scores = serving.user_factors @ serving.item_factors.T
    scores += serving.user_bias[:, None] + serving.item_bias[None, :]
    positives = dataset.positives.toarray().astype(bool)
    for u in range(dataset.n_users):
        if positives[u].any() and not positives[u].all():
            others = scores[u][~positives[u]]
            scores[u][positives[u]] -= np.float32(0.3) * (others.max() - others.min())
    expected = []
    for u, user in enumerate(dataset.user_ids):
        for c in range(len(COMPONENTS)):
            window = dataset.type_slice(c)
            order = sorted(range(window.start, window.stop), key=lambda i: (-scores[u, i], i))
            expected += [(str(user), str(dataset.item_ids[i]), scores[u, i]) for i in order[:2]]
    rows = import_i2u(export / "i2u_6.csv")
    assert [(r.first, r.unique_id) for r in rows] == [(u, i) for u, i, _ in expected]
    np.testing.assert_allclose([r.score for r in rows], [s for _, _, s in expected], atol=2e-6)
    unit = artifact.arrays["item_unit"]
    for row in import_i2i(export / "i2i_6.csv"):
        a = list(dataset.item_ids).index(row.first)
        b = list(dataset.item_ids).index(row.unique_id)
        assert row.score == pytest.approx(float(unit[a] @ unit[b]), abs=1e-6)


def totara_command(python: str, script: Path, folder: Path) -> str:
    """The command line Totara's recommender_command.php prints (two spaces, quoted values)."""
    return (
        f"{python} '{script}'  --query 'mf' --result_count_user '3' --result_count_item '2' "
        f"--threads '1' --data_path '{folder}/'"
    )


def installed_script(tmp_path: Path) -> Path:
    target = tmp_path / "extensions" / "ml_recommender" / "python" / "ml_recommender.py"
    target.parent.mkdir(parents=True)
    shutil.copy(Path(__file__).parents[2] / "service" / "legacy_script.py", target)
    return target


def test_script_file_runs_the_totara_command_line(export: Path, tmp_path: Path) -> None:
    script = installed_script(tmp_path)
    write_tenants(export, ["1", "2"])
    env = {**os.environ, "ML_RECOMMENDER": "popularity"}
    command = totara_command(sys.executable, script, export)
    done = subprocess.run(
        ["sh", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "tenant 1: success" in done.stdout
    assert len(import_i2u(export / "i2u_1.csv")) > 0
    assert (export / "i2u_2.csv").read_bytes() == b"uid,iid,ranking"
    assert (export / COMPLETED).exists()


def test_script_file_names_the_interpreter_when_the_package_is_missing(
    export: Path, tmp_path: Path
) -> None:
    script = installed_script(tmp_path)
    # -S: no site-packages, so the installed mlservice package is not importable.
    command = totara_command(f"{sys.executable} -S", script, export)
    done = subprocess.run(
        ["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3
    assert sys.executable in done.stderr and "py3path" in done.stderr
    assert not (export / STARTED).exists()


def test_lightfm_with_the_query_mode_writes_importable_files(
    export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ML_RECOMMENDER", "lightfm")
    monkeypatch.setenv("ML_TUNING_TRIALS", "0")
    monkeypatch.setenv("ML_RECOMMENDER_OPTIONS", '{"no_components": 4, "epochs": 3}')
    write_tenants(export, ["1", "2"])
    main_argv = ["legacy", "--query", "partial", "--result_count_user", "2"]
    main_argv += ["--result_count_item", "2", "--threads", "1", "--data_path", str(export)]
    assert main(main_argv) == 0
    rows = import_i2u(export / "i2u_1.csv")
    assert {r.first for r in rows} == {r[0] for r in read_table(export, "user_data_1.csv")}
    assert len(import_i2i(export / "i2i_1.csv")) > 0
    assert (export / COMPLETED).exists()


def test_query_and_threads_reach_the_recommender_settings_and_options() -> None:
    from mlcore.config import Settings
    from mlcore.legacy.batch import legacy_settings

    base = Settings(recommender_options={"mode": "mf", "epochs": 3})
    lightfm = frozenset({"mode", "num_threads", "study_storage", "epochs"})
    settings = legacy_settings(base, query="hybrid", threads=3, option_names=lightfm)
    assert (settings.algorithm, settings.num_threads) == ("hybrid", 3)
    assert settings.recommender_options == {
        "mode": "hybrid",
        "epochs": 3,
        "num_threads": 3,
        "study_storage": "memory",
    }
    plain = legacy_settings(Settings(), query="partial", threads=2, option_names=frozenset())
    assert plain.recommender_options == {} and plain.algorithm == "partial"


def test_item_neighbour_models_use_their_stored_similarities(export: Path) -> None:
    """The ``neighbours`` serving kind: i2u from its scores, i2i from its item-item matrix."""
    from mlcore.legacy.outputs import write_tenant_files
    from mlcore.serving.artifact import build_artifact
    from mlcore.totara.dataset_builder import load_tenant_dataset

    settings = load_settings()
    dataset = load_tenant_dataset(ExportFolderSource(export), "1")
    recommender = configured_plugins(settings).registry.create(
        "recommender", "item-knn", {"neighbours": 5}, settings=settings
    )
    serving = recommender.fit(dataset).export()
    artifact = build_artifact(dataset, serving, backend="item-knn", algorithm="knn", details={})
    options = OutputOptions(result_count_user=2, result_count_item=3)
    files = write_tenant_files(export, dataset, artifact, options)
    assert files.i2u_rows == len(import_i2u(export / "i2u_1.csv")) > 0
    similarity = serving.extra["similarity_data"]
    ids = list(dataset.item_ids)
    stored = {}
    indptr, indices = serving.extra["similarity_indptr"], serving.extra["similarity_indices"]
    for row in range(dataset.n_items):
        for position in range(indptr[row], indptr[row + 1]):
            stored[(ids[row], ids[indices[position]])] = float(similarity[position])
    rows = import_i2i(export / "i2i_1.csv")
    assert rows and all(
        r.score == pytest.approx(stored[(r.first, r.unique_id)], abs=1e-6) for r in rows
    )


def test_outputs_and_flags_get_the_usual_file_permissions(export: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_tenants(export, ["1"])
        assert legacy(export) == 0
    finally:
        os.umask(umask)
    for name in ("i2i_1.csv", "i2u_1.csv", STARTED, COMPLETED):
        assert (export / name).stat().st_mode & 0o777 == 0o644


def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    from mlcore.legacy.outputs import write_atomic

    target = tmp_path / "i2u_1.csv"
    target.write_bytes(b"uid,iid,ranking\n2,engage_article1,1.000000000000\n")

    def failing():
        yield b"uid,iid,ranking\n"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, failing())
    assert target.read_bytes() == b"uid,iid,ranking\n2,engage_article1,1.000000000000\n"
    assert [p.name for p in tmp_path.iterdir()] == ["i2u_1.csv"]


def test_family_option_keeps_similar_items_in_the_target_family(export: Path) -> None:
    write_tenants(export, ["1"])
    assert legacy(export, "--similar_items", "family") == 0
    rows = import_i2i(export / "i2i_1.csv")
    articles = {"engage_article", "engage_microlearning"}
    assert rows
    for row in rows:
        same = row.component == row.target_component
        assert same or {row.component, row.target_component} <= articles
