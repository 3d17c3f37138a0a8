"""The MovieLens protocol on tiny hand-made data: loaders, split rule, metrics, harness, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from reclio.adapters.local import LocalRecommenderConfig
from reclio.cli import main
from reclio.cli.evaluate import run_movielens
from reclio.domain import ItemRef
from reclio.evaluation import (
    ImplicitModel,
    LocalModel,
    MostPopular,
    evaluate,
    hit_rank,
    leave_last_out,
    load_movielens,
    render_table,
    report_json,
    summarize,
)
from reclio.evaluation._datasets import PLACEHOLDER_BASE

# user, movieId, stars, timestamp. User 1: item 30 and 20 tie at t=500, so the larger id
# (30) is the test item and 20 the validation item. User 2 has only two ratings: dropped.
RATINGS = [
    ("1", 10, 4.0, 100),
    ("1", 20, 3.5, 500),
    ("1", 30, 5.0, 500),
    ("1", 40, 1.0, 50),
    ("2", 10, 2.0, 100),
    ("2", 20, 4.0, 200),
    ("3", 40, 4.5, 10),
    ("3", 10, 0.5, 20),
    ("3", 20, 3.0, 30),
]


def write_latest_small(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n"
        + "".join(f"{m},Movie {m} (2000),Drama\n" for m in (10, 20, 30, 40, 50))
    )
    # 40 has no TMDB id; 50 shares 30's.
    (folder / "links.csv").write_text(
        "movieId,imdbId,tmdbId\n10,0000010,110\n20,0000020,120\n30,0000030,130\n"
        "40,0000040,\n50,0000050,130\n"
    )
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n"
        + "".join(f"{u},{m},{s},{t}\n" for u, m, s, t in RATINGS)
    )
    return folder


def write_100k(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.item").write_text(
        "".join(f"{m}|Movie {m} (2000)|01-Jan-2000||http://x|0|1\n" for m in (10, 20, 30, 40)),
        encoding="latin-1",
    )
    (folder / "u.data").write_text(
        "".join(f"{u}\t{m}\t{max(1, round(s))}\t{t}\n" for u, m, s, t in RATINGS)
    )
    return folder


def test_loads_latest_small_with_tmdb_refs(tmp_path: Path) -> None:
    """ml-latest-small maps movies to TMDB refs; missing or repeated ids get placeholders."""
    data = load_movielens(write_latest_small(tmp_path / "small"))
    assert data.name == "ml-latest-small"
    assert data.n_items == 5
    assert data.n_users == 3
    assert len(data) == len(RATINGS)
    assert data.refs[:3] == (ItemRef.movie(110), ItemRef.movie(120), ItemRef.movie(130))
    assert data.refs[3] == ItemRef.movie(PLACEHOLDER_BASE + 40)
    assert data.refs[4] == ItemRef.movie(PLACEHOLDER_BASE + 50)


def test_loads_100k_with_movielens_ids(tmp_path: Path) -> None:
    """ml-100k uses the MovieLens item id as the TMDB-style number."""
    data = load_movielens(write_100k(tmp_path / "100k"))
    assert data.name == "ml-100k"
    assert data.refs == tuple(ItemRef.movie(m) for m in (10, 20, 30, 40))
    assert len(data) == len(RATINGS)


def test_unknown_folder_is_file_not_found(tmp_path: Path) -> None:
    """A folder with neither release is refused with both expected file sets named."""
    with pytest.raises(FileNotFoundError, match=r"u\.data"):
        load_movielens(tmp_path)


@pytest.mark.parametrize("writer", [write_latest_small, write_100k])
def test_split_rule(tmp_path: Path, writer: object) -> None:
    """Newest is test, next newest validation, ties by larger item id; <3 users dropped."""
    data = load_movielens(writer(tmp_path / "d"))  # type: ignore[operator]
    split = leave_last_out(data)
    ids = data.item_ids
    users = [data.user_ids[u] for u in split.users]
    assert users == ["1", "3"]
    assert [ids[data.items[r]] for r in split.test] == [30, 20]
    assert [ids[data.items[r]] for r in split.validation] == [20, 10]
    train = sorted((data.user_ids[data.users[r]], ids[data.items[r]]) for r in split.train)
    assert train == [("1", 10), ("1", 40), ("3", 40)]
    final = sorted(
        (data.user_ids[data.users[r]], ids[data.items[r]]) for r in split.fit_rows(final=True)
    )
    assert final == [("1", 10), ("1", 20), ("1", 40), ("3", 10), ("3", 40)]


def test_hit_rank_is_one_based() -> None:
    """The first position is rank 1; absence is None."""
    assert hit_rank([5, 7, 9], 5) == 1
    assert hit_rank([5, 7, 9], 9) == 3
    assert hit_rank([5, 7, 9], 4) is None


def test_metrics_by_hand() -> None:
    """HR, NDCG (1/log2(rank+1)), Recall@20, coverage and the standard error, by hand."""
    lists = [
        [1, 2, 3, *list(range(100, 117))],  # target 1 at rank 1
        [4, 5, 6, *list(range(100, 117))],  # target 6 at rank 3
        list(range(200, 220)),  # target 215 at rank 16: a recall hit, not an HR hit
        list(range(300, 320)),  # target 999 missed
    ]
    metrics = summarize(lists, [1, 6, 215, 999], n_items=1000)
    gains = [1.0, 1 / math.log2(4), 0.0, 0.0]
    mean = sum(gains) / 4
    assert metrics.users == 4
    assert metrics.hr10 == pytest.approx(0.5)
    assert metrics.ndcg10 == pytest.approx(mean)
    assert metrics.recall20 == pytest.approx(0.75)
    sd = math.sqrt(sum((g - mean) ** 2 for g in gains) / 3)
    assert metrics.ndcg10_se == pytest.approx(sd / 2)
    shown = {1, 2, 3, 4, 5, 6} | set(range(100, 107)) | set(range(200, 210)) | set(range(300, 310))
    assert metrics.coverage10 == pytest.approx(len(shown) / 1000)


@pytest.mark.anyio
async def test_harness_tunes_on_validation_and_scores_test(tmp_path: Path) -> None:
    """Every model gets a result; grids are tried on validation and the best is kept."""
    data = load_movielens(write_latest_small(tmp_path / "d"))
    models = [
        MostPopular(),
        LocalModel("LocalRecommender", LocalRecommenderConfig(), {"ease_l2": [1.0, 10.0]}),
    ]
    report = await evaluate(data, models)
    assert [r.name for r in report.results] == ["MostPopular", "LocalRecommender"]
    local = report.result("LocalRecommender")
    assert len(local.tuning) == 2
    assert local.params == max(local.tuning, key=lambda pair: pair[1])[0]
    assert local.test.users == 2
    assert "LocalRecommender" in render_table(report)
    assert report_json([report])["datasets"]["ml-latest-small"]["users"] == 2


def test_cli_json_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``eval movielens PATH --json --no-baselines`` prints one JSON line and writes files."""
    folder = write_100k(tmp_path / "d")
    status = main(
        [
            "eval",
            "movielens",
            str(folder),
            "--json",
            "--no-baselines",
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert status == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    document = json.loads(lines[0])
    assert set(document["datasets"]["ml-100k"]["models"]) >= {"MostPopular", "LocalRecommender"}
    assert (tmp_path / "out" / "report.json").is_file()


def test_cli_refuses_a_folder_without_data(tmp_path: Path) -> None:
    """A folder holding no MovieLens files exits with status 2."""
    assert run_movielens([tmp_path], baselines=False) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["als", "cosine", "bm25"])
async def test_implicit_baselines_run(tmp_path: Path, kind: str) -> None:
    """implicit's models fit and rank unseen items through the wrapper (bench extra only)."""
    pytest.importorskip("implicit")
    data = load_movielens(write_100k(tmp_path / "d"))
    search = {"factors": [2], "iterations": [2]} if kind == "als" else {"K": [2]}
    report = await evaluate(data, [ImplicitModel(f"implicit {kind}", kind, search)])
    assert report.results[0].test.users == 2
