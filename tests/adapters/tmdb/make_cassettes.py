"""Write the TMDB replay cassettes from the real response bodies in ../shared/data.

Run from the repository root: ``python tests/adapters/tmdb/make_cassettes.py [SAMPLES]``
(``SAMPLES`` defaults to ``../shared/data/api-samples/tmdb``). The cassettes are committed;
tests only replay them (``record_mode="none"``).

Every body is a real TMDB response kept by c-eg/themoviedbapi (see
``../shared/data/SOURCES.md``), served for the request that produces it, with two
assemblies and one stand-in, all named here:

* ``/movie/550?append_to_response=credits`` is ``movies_details.json`` (Fight Club, id 550)
  with ``movies_credits.json`` (the credits of id 550) appended as TMDB appends them: under
  ``credits``, without their own ``id``. Likewise ``/tv/1399`` from ``tv_series_details.json``
  and ``tv_series_credits.json`` (Game of Thrones, id 1399).
* The 404 bodies of unknown ids are TMDB's documented error body (status 34,
  reference/API-FACTS.md B.3); the samples hold no 404.

No request in a cassette carries a header: there is no token to leak.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlencode

from vcr.request import Request
from vcr.serialize import serialize
from vcr.serializers import yamlserializer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SAMPLES = ROOT.parent / "shared" / "data" / "api-samples" / "tmdb"
CASSETTES = HERE / "cassettes"
BASE = "https://api.themoviedb.org/3"
LANGUAGE = "en-US"
UNKNOWN_ID = 9_999_999_999

NOT_FOUND = {
    "success": False,
    "status_code": 34,
    "status_message": "The resource you requested could not be found.",
}

LISTS = {
    "/movie/popular": "movie_lists_popular.json",
    "/tv/popular": "tv_series_lists_popular.json",
    "/movie/top_rated": "movie_lists_top_rated.json",
    "/tv/top_rated": "tv_series_lists_top_rated.json",
    "/trending/movie/week": "trending_movies.json",
    "/trending/tv/week": "trending_tv.json",
    "/movie/now_playing": "movie_lists_now_playing.json",
    "/tv/on_the_air": "tv_series_lists_on_the_air.json",
}


def sample(name: str) -> dict:
    return json.loads((samples / name).read_text(encoding="utf-8"))


def with_credits(details: str, credits_file: str) -> dict:
    body = sample(details)
    appended = sample(credits_file)
    assert appended.pop("id") == body["id"], f"{credits_file} is not the credits of {details}"
    body["credits"] = appended
    return body


def interaction(path: str, params: dict, status: int, body: dict) -> tuple[Request, dict]:
    if path != "/authentication":  # the one request without a language
        params = {**params, "language": LANGUAGE}
    query = urlencode(sorted(params.items()))
    request = Request("GET", f"{BASE}{path}?{query}", None, {})
    reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}[status]
    response = {
        "status": {"code": status, "message": reason},
        "headers": {"Content-Type": ["application/json;charset=utf-8"]},
        "body": {"string": json.dumps(body, ensure_ascii=False, separators=(",", ":"))},
    }
    return request, response


def catalog() -> list[tuple[Request, dict]]:
    append = {"append_to_response": "credits"}
    found = [
        interaction(
            "/movie/550", append, 200, with_credits("movies_details.json", "movies_credits.json")
        ),
        interaction(
            "/movie/12313", append, 200, sample("movies_details_with_append_to_response.json")
        ),
        interaction(
            "/tv/1399",
            append,
            200,
            with_credits("tv_series_details.json", "tv_series_credits.json"),
        ),
        interaction(f"/movie/{UNKNOWN_ID}", append, 404, NOT_FOUND),
        interaction(f"/tv/{UNKNOWN_ID}", append, 404, NOT_FOUND),
        interaction("/genre/movie/list", {}, 200, sample("genres_movie_list.json")),
        interaction("/genre/tv/list", {}, 200, sample("genres_tv_list.json")),
        # The change feed's dates and page are not matched (see conftest.tmdb_query): one real
        # page answers every window and page of a replayed read.
        interaction("/movie/changes", {}, 200, sample("changes_movie_list.json")),
        interaction("/tv/changes", {}, 200, sample("changes_tv_list.json")),
    ]
    found += [interaction(path, {"page": 1}, 200, sample(name)) for path, name in LISTS.items()]
    return found


def unauthorized() -> list[tuple[Request, dict]]:
    refused = sample("authentication_validate_key_unsuccessful.json")
    return [
        interaction("/authentication", {}, 401, refused),
        interaction("/movie/550", {"append_to_response": "credits"}, 401, refused),
    ]


def write(name: str, interactions: list[tuple[Request, dict]]) -> Path:
    requests, responses = zip(*interactions, strict=True)
    text = serialize({"requests": requests, "responses": responses}, yamlserializer)
    path = CASSETTES / name
    path.write_text(text, encoding="utf-8")
    return path


samples = SAMPLES


def main() -> int:
    global samples  # noqa: PLW0603 - a script's one setting
    samples = Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES
    if not samples.is_dir():
        print(f"samples not found at {samples}", file=sys.stderr)  # noqa: T201 - a script
        return 1
    CASSETTES.mkdir(exist_ok=True)
    for name, interactions in (
        ("tmdb_catalog.yaml", catalog()),
        ("tmdb_unauthorized.yaml", unauthorized()),
    ):
        print(write(name, interactions))  # noqa: T201 - a script
    return 0


if __name__ == "__main__":
    sys.exit(main())
