"""Write the Trakt replay cassettes from the real response bodies in ../shared/data.

Run from the repository root: ``python tests/adapters/trakt/make_cassettes.py [SAMPLES]``
(``SAMPLES`` defaults to ``../shared/data/api-samples/trakt``). The cassettes are committed;
tests only replay them (``record_mode="none"``).

Every body is a real Trakt example kept by fuzeman/trakt.py (MIT; see
``../shared/data/SOURCES.md``), served for the request reclio makes, with these assemblies,
all named here:

* ``/sync/history`` is ``sync_history_movies.json`` and ``sync_history_shows.json`` (25 plays
  each) merged newest first, as Trakt's combined history is sorted, and served as two pages
  of 25 although reclio asks for 250: the silent clamp, with the ``X-Pagination-*`` headers
  Trakt sends.
* ``/users/me/lists/55/items`` is ``users_sean_lists_55_items.json`` (a list holding a movie, a
  show, a season, an episode and a person), served as if the account owned list 55.
* ``/users/settings`` is the one stand-in: the samples hold no settings body, so it is the
  shape of Trakt's settings contract (reference/API-FACTS.md A.7, ``limits``) with a free
  account's 2026 limits (5 lists of 250 items).
* The other bodies are served as they are, without pagination headers: the older endpoints
  answered everything at once, and reclio then reads the one page.

No request in a cassette carries a header: there is no client id or token to leak.
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
SAMPLES = ROOT.parent / "shared" / "data" / "api-samples" / "trakt"
CASSETTES = HERE / "cassettes"
BASE = "https://api.trakt.tv"
LIMIT = 250

PLAIN = {
    "/sync/last_activities": ("sync_last_activities.json", False),
    "/sync/ratings/movies": ("sync_ratings_movies.json", True),
    "/sync/ratings/shows": ("sync_ratings_shows.json", True),
    "/sync/watchlist": ("sync_watchlist.json", True),
    "/sync/playback": ("sync_playback.json", True),
    "/users/me/lists": ("users_me_lists.json", True),
    "/users/me/lists/1/items": ("users_me_lists_movies_items.json", True),
    "/users/me/lists/3/items": ("users_me_lists_shows_items.json", True),
    "/users/me/lists/55/items": ("users_sean_lists_55_items.json", True),
}

samples = SAMPLES


def sample(name: str) -> object:
    return json.loads((samples / name).read_text(encoding="utf-8"))


def interaction(
    path: str, params: dict[str, int], body: object, headers: dict[str, str] | None = None
) -> tuple[Request, dict]:
    query = f"?{urlencode(sorted(params.items()))}" if params else ""
    request = Request("GET", f"{BASE}{path}{query}", None, {})
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {
            "Content-Type": ["application/json"],
            **{name: [value] for name, value in (headers or {}).items()},
        },
        "body": {"string": json.dumps(body, ensure_ascii=False, separators=(",", ":"))},
    }
    return request, response


def history() -> list[tuple[Request, dict]]:
    plays = [*sample("sync_history_movies.json"), *sample("sync_history_shows.json")]  # type: ignore[misc]
    plays.sort(key=lambda play: play["watched_at"], reverse=True)
    size = 25
    pages = [plays[i : i + size] for i in range(0, len(plays), size)]
    found = []
    for number, page in enumerate(pages, start=1):
        headers = {
            "X-Pagination-Page": str(number),
            "X-Pagination-Limit": str(size),
            "X-Pagination-Page-Count": str(len(pages)),
            "X-Pagination-Item-Count": str(len(plays)),
        }
        found.append(interaction("/sync/history", {"limit": LIMIT, "page": number}, page, headers))
    return found


SETTINGS = {
    "user": {"username": "sean", "private": False, "vip": False, "ids": {"slug": "sean"}},
    "account": {"timezone": "America/Los_Angeles"},
    "limits": {
        "list": {"count": 5, "item_count": 250},
        "watchlist": {"item_count": 250},
        "favorites": {"item_count": 50},
    },
}


def sync() -> list[tuple[Request, dict]]:
    found = history()
    found.append(interaction("/users/settings", {}, SETTINGS))
    for path, (name, paged) in PLAIN.items():
        params = {"limit": LIMIT, "page": 1} if paged else {}
        found.append(interaction(path, params, sample(name)))
    return found


def write(name: str, interactions: list[tuple[Request, dict]]) -> Path:
    requests, responses = zip(*interactions, strict=True)
    text = serialize({"requests": requests, "responses": responses}, yamlserializer)
    path = CASSETTES / name
    path.write_text(text, encoding="utf-8")
    return path


def main() -> int:
    global samples  # noqa: PLW0603 - a script's one setting
    samples = Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES
    if not samples.is_dir():
        print(f"samples not found at {samples}", file=sys.stderr)  # noqa: T201 - a script
        return 1
    CASSETTES.mkdir(exist_ok=True)
    print(write("trakt_sync.yaml", sync()))  # noqa: T201 - a script
    return 0


if __name__ == "__main__":
    sys.exit(main())
