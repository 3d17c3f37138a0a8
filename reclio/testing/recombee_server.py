"""A local Recombee: a small HTTP server the real ``recombee-api-client`` talks to on loopback.

Tests and benchmarks start one on ``127.0.0.1`` (an ephemeral port) and point a
`~reclio.adapters.recombee.RecombeeRecommender` at it with ``base_uri="http://127.0.0.1:PORT"``.
Nothing inside the SDK is replaced: the SDK signs each request, sends it with ``requests``
and parses the answer, exactly as it does against Recombee. The server:

* checks the HMAC-SHA1 signature (``hmac_timestamp`` and ``hmac_sign`` over the path and
  query, keyed by the database's private token) and refuses a bad or stale one with 401;
* keeps per database the item properties, items with their values, users and the three
  interaction kinds reclio sends (detail views, ratings, bookmarks), with Recombee's codes:
  201 created, 409 duplicate, 404 unknown, 400 invalid;
* answers ``Batch`` requests member by member (HTTP 200 with one ``{code, json}`` each);
* recommends by co-occurrence (items liked by users who liked the user's items), cold users
  get the most-interacted items, and never an item the user interacted with; it filters by
  the ReQL subset reclio sends (``'prop' == "x"``, ``'itemId' not in {...}``, ``and``);
* answers an unknown database as Recombee's region hosts do: 404, ``Database "x" does not
  exist!``;
* fails on demand (`fail_requests`, `delay`, `drop_writes`, `fail_members`, `malformed`),
  and counts every request it served (`requests`, `batch_members`).

Standard library only. Stability: testing (may change between minor versions).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, Literal, Self
from urllib.parse import parse_qsl, urlsplit

import attrs

__all__ = ["LocalRecombee", "RecordedRequest"]

_ID: Final = re.compile(r"[a-zA-Z0-9_\-:@.]+")
_PROPERTY: Final = re.compile(r"[a-zA-Z0-9_\-:]{1,63}")
_PROPERTY_TYPES: Final = frozenset(
    {"int", "double", "string", "boolean", "timestamp", "set", "image", "imageList"}
)
_KINDS: Final = ("detailviews", "ratings", "bookmarks")
_BATCH_MAX: Final = 10_000

Json = Any
"""A decoded JSON value."""


@attrs.frozen
class RecordedRequest:
    """One HTTP request the server answered.

    Attributes:
        method: ``GET``, ``PUT``, ``POST`` or ``DELETE``.
        path: The path after the database id, e.g. ``/batch/``.
        members: How many requests a batch carried (0 for anything else).
    """

    method: str
    path: str
    members: int = 0


@attrs.frozen
class _Reply:
    code: int
    body: Json = "ok"


def _error(code: int, message: str) -> _Reply:
    return _Reply(code, {"statusCode": code, "message": message})


class _Invalid(Exception):
    """A parameter is invalid; the server answers 400 with the message."""


@attrs.define
class _Database:
    """One Recombee database: properties, items, users and interactions."""

    token: str
    properties: dict[str, str] = attrs.Factory(dict)
    items: dict[str, dict[str, Json]] = attrs.Factory(dict)
    users: set[str] = attrs.Factory(set)
    # kind -> (user, item, timestamp) -> rating value (None for views and bookmarks)
    interactions: dict[str, dict[tuple[str, str, float], float | None]] = attrs.Factory(
        lambda: {kind: {} for kind in _KINDS}
    )

    # -- routing -------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: Mapping[str, Json]) -> _Reply:
        for route_method, pattern, handler in _ROUTES:
            if route_method != method:
                continue
            match = pattern.fullmatch(path)
            if match is not None:
                try:
                    return handler(self, params, *match.groups())
                except _Invalid as exc:
                    return _error(400, str(exc))
        return _error(404, f"no such endpoint: {method} {path}")

    # -- properties ----------------------------------------------------------------------

    def add_property(self, params: Mapping[str, Json], name: str) -> _Reply:
        kind = params.get("type")
        if not _PROPERTY.fullmatch(name) or name.lower() in {"id", "itemid"}:
            raise _Invalid(f"invalid property name {name!r}")
        if kind not in _PROPERTY_TYPES:
            raise _Invalid(f"invalid property type {kind!r}")
        if name in self.properties:
            return _error(409, f'Property "{name}" already exists')
        self.properties[name] = kind
        for values in self.items.values():
            values.setdefault(name, None)
        return _Reply(201)

    def list_properties(self, _params: Mapping[str, Json]) -> _Reply:
        return _Reply(200, [{"name": n, "type": t} for n, t in self.properties.items()])

    def property_info(self, _params: Mapping[str, Json], name: str) -> _Reply:
        if name not in self.properties:
            return _error(404, f'Property "{name}" not found')
        return _Reply(200, {"name": name, "type": self.properties[name]})

    def delete_property(self, _params: Mapping[str, Json], name: str) -> _Reply:
        if self.properties.pop(name, None) is None:
            return _error(404, f'Property "{name}" not found')
        for values in self.items.values():
            values.pop(name, None)
        return _Reply(200)

    # -- items and users -----------------------------------------------------------------

    def _new_item(self, item_id: str) -> None:
        if not _ID.fullmatch(item_id):
            raise _Invalid(f"invalid item id {item_id!r}")
        self.items.setdefault(item_id, dict.fromkeys(self.properties))

    def add_item(self, _params: Mapping[str, Json], item_id: str) -> _Reply:
        if item_id in self.items:
            return _error(409, f'Item "{item_id}" already exists')
        self._new_item(item_id)
        return _Reply(201)

    def set_item_values(self, params: Mapping[str, Json], item_id: str) -> _Reply:
        values = {k: v for k, v in params.items() if not k.startswith("!")}
        for name, value in values.items():
            if name not in self.properties:
                raise _Invalid(f'Property "{name}" is not defined for items')
            _check_type(name, self.properties[name], value)
        if item_id not in self.items:
            if not params.get("!cascadeCreate"):
                return _error(404, f'Item "{item_id}" not found')
            self._new_item(item_id)
        self.items[item_id].update(values)
        return _Reply(200)

    def get_item_values(self, _params: Mapping[str, Json], item_id: str) -> _Reply:
        if item_id not in self.items:
            return _error(404, f'Item "{item_id}" not found')
        return _Reply(200, dict(self.items[item_id]))

    def delete_item(self, _params: Mapping[str, Json], item_id: str) -> _Reply:
        if self.items.pop(item_id, None) is None:
            return _error(404, f'Item "{item_id}" not found')
        for table in self.interactions.values():
            for key in [k for k in table if k[1] == item_id]:
                del table[key]
        return _Reply(200)

    def list_items(self, params: Mapping[str, Json]) -> _Reply:
        offset = _int(params.get("offset", 0), "offset")
        count = _int(params.get("count", 100), "count")
        ids = list(self.items)[offset : offset + count]
        if _truthy(params.get("returnProperties", False)):
            return _Reply(200, [{"itemId": i, **self.items[i]} for i in ids])
        return _Reply(200, ids)

    def add_user(self, _params: Mapping[str, Json], user_id: str) -> _Reply:
        if user_id in self.users:
            return _error(409, f'User "{user_id}" already exists')
        if not _ID.fullmatch(user_id):
            raise _Invalid(f"invalid user id {user_id!r}")
        self.users.add(user_id)
        return _Reply(201)

    # -- interactions --------------------------------------------------------------------

    def add_interaction(self, params: Mapping[str, Json], kind: str) -> _Reply:
        user_id, item_id = str(params.get("userId", "")), str(params.get("itemId", ""))
        if not _ID.fullmatch(user_id) or not _ID.fullmatch(item_id):
            raise _Invalid("userId and itemId must be valid ids")
        value: float | None = None
        if kind == "ratings":
            rating = params.get("rating")
            if not isinstance(rating, int | float) or not -1.0 <= rating <= 1.0:
                raise _Invalid(f"rating must be in [-1, 1], got {rating!r}")
            value = float(rating)
        cascade = bool(params.get("cascadeCreate"))
        if item_id not in self.items:
            if not cascade:
                return _error(404, f'Item "{item_id}" not found')
            self._new_item(item_id)
        if user_id not in self.users:
            if not cascade:
                return _error(404, f'User "{user_id}" not found')
            self.users.add(user_id)
        key = (user_id, item_id, _timestamp(params.get("timestamp")))
        table = self.interactions[kind]
        if key in table:
            return _error(409, "An interaction with the same userId, itemId and timestamp exists")
        table[key] = value
        return _Reply(200)

    def delete_interactions(self, params: Mapping[str, Json], kind: str) -> _Reply:
        user_id, item_id = str(params.get("userId", "")), str(params.get("itemId", ""))
        stamp = params.get("timestamp")
        at = None if stamp is None else _timestamp(stamp)
        table = self.interactions[kind]
        doomed = [k for k in table if k[:2] == (user_id, item_id) and (at is None or k[2] == at)]
        if not doomed:
            return _error(404, "no such interaction")
        for key in doomed:
            del table[key]
        return _Reply(200)

    def list_user_interactions(
        self, _params: Mapping[str, Json], user_id: str, kind: str
    ) -> _Reply:
        if user_id not in self.users:
            return _error(404, f'User "{user_id}" not found')
        rows = [
            {"userId": u, "itemId": i, "timestamp": t, **({} if v is None else {"rating": v})}
            for (u, i, t), v in self.interactions[kind].items()
            if u == user_id
        ]
        return _Reply(200, rows)

    # -- recommendations -----------------------------------------------------------------

    def _graph(self) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
        """Items of each user, users of each item, and each user's liked items."""
        items_of: dict[str, set[str]] = {}
        users_of: dict[str, set[str]] = {}
        disliked: dict[str, set[str]] = {}
        for kind, table in self.interactions.items():
            for (user, item, _at), value in table.items():
                items_of.setdefault(user, set()).add(item)
                users_of.setdefault(item, set()).add(user)
                if kind == "ratings" and value is not None and value < 0:
                    disliked.setdefault(user, set()).add(item)
        liked = {u: items - disliked.get(u, set()) for u, items in items_of.items()}
        return items_of, users_of, liked

    def _ranked(
        self,
        scores: Counter[str],
        users_of: Mapping[str, set[str]],
        count: int,
        keep: Callable[[str], bool],
    ) -> _Reply:
        def popularity(item: str) -> float:
            value = self.items[item].get("popularity")
            return float(value) if isinstance(value, int | float) else 0.0

        ranked = sorted(
            (i for i in self.items if keep(i)),
            key=lambda i: (-scores[i], -len(users_of.get(i, ())), -popularity(i), i),
        )
        recomms = [{"id": item} for item in ranked[:count]]
        return _Reply(
            200,
            {"recommId": str(uuid.uuid4()), "recomms": recomms, "numberNextRecommsCalls": 0},
        )

    def recommend_to_user(self, params: Mapping[str, Json], user_id: str) -> _Reply:
        count = _int(params.get("count"), "count")
        if user_id not in self.users:
            if not params.get("cascadeCreate"):
                return _error(404, f'User "{user_id}" not found')
            self.users.add(user_id)
        accept = _compile_filter(params.get("filter"))
        items_of, users_of, liked = self._graph()
        scores: Counter[str] = Counter()
        for item in liked.get(user_id, ()):
            for other in users_of[item] - {user_id}:
                scores.update(liked.get(other, set()))
        seen = items_of.get(user_id, set())
        return self._ranked(
            scores, users_of, count, lambda i: i not in seen and accept(i, self.items[i])
        )

    def recommend_to_item(self, params: Mapping[str, Json], item_id: str) -> _Reply:
        count = _int(params.get("count"), "count")
        target = params.get("targetUserId")
        cascade = bool(params.get("cascadeCreate"))
        if item_id not in self.items:
            if not cascade:
                return _error(404, f'Item "{item_id}" not found')
            self._new_item(item_id)
        if target is not None and target not in self.users:
            if not cascade:
                return _error(404, f'User "{target}" not found')
            self.users.add(str(target))
        accept = _compile_filter(params.get("filter"))
        items_of, users_of, liked = self._graph()
        scores: Counter[str] = Counter()
        for user in users_of.get(item_id, ()):
            scores.update(liked.get(user, set()))
        seen = items_of.get(str(target), set()) if target is not None else set()
        return self._ranked(
            scores,
            users_of,
            count,
            lambda i: i != item_id and i not in seen and accept(i, self.items[i]),
        )


_Handler = Callable[..., _Reply]
_ROUTES: Final[tuple[tuple[str, re.Pattern[str], _Handler], ...]] = tuple(
    (method, re.compile(pattern), handler)
    for method, pattern, handler in (
        ("GET", r"/items/properties/list/", _Database.list_properties),
        ("PUT", r"/items/properties/([^/]+)", _Database.add_property),
        ("GET", r"/items/properties/([^/]+)", _Database.property_info),
        ("DELETE", r"/items/properties/([^/]+)", _Database.delete_property),
        ("GET", r"/items/list/", _Database.list_items),
        ("PUT", r"/items/([^/]+)", _Database.add_item),
        ("POST", r"/items/([^/]+)", _Database.set_item_values),
        ("GET", r"/items/([^/]+)", _Database.get_item_values),
        ("DELETE", r"/items/([^/]+)", _Database.delete_item),
        ("PUT", r"/users/([^/]+)", _Database.add_user),
        (
            "GET",
            r"/users/([^/]+)/(detailviews|ratings|bookmarks)/",
            _Database.list_user_interactions,
        ),
        ("POST", r"/(detailviews|ratings|bookmarks)/", _Database.add_interaction),
        ("DELETE", r"/(detailviews|ratings|bookmarks)/", _Database.delete_interactions),
        ("POST", r"/recomms/users/([^/]+)/items/", _Database.recommend_to_user),
        ("POST", r"/recomms/items/([^/]+)/items/", _Database.recommend_to_item),
    )
)


def _check_type(name: str, kind: str, value: Json) -> None:
    if value is None:
        return
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "double": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "timestamp": isinstance(value, int | float | str),
        "set": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "image": isinstance(value, str),
        "imageList": isinstance(value, list),
    }[kind]
    if not ok:
        raise _Invalid(f'Value {value!r} of property "{name}" is not of type {kind}')


def _int(value: Json, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _Invalid(f"{name} must be an integer, got {value!r}") from None
    if number < (1 if name == "count" else 0):
        raise _Invalid(f"{name} out of range: {number}")
    return number


def _truthy(value: Json) -> bool:
    return value is True or str(value).lower() == "true"


def _timestamp(value: Json) -> float:
    if value is None:
        return time.time()
    if isinstance(value, int | float) and not isinstance(value, bool):
        stamp = float(value)
    else:
        try:
            stamp = float(str(value))
        except ValueError:
            try:
                stamp = datetime.fromisoformat(str(value)).timestamp()
            except ValueError:
                raise _Invalid(f"invalid timestamp {value!r}") from None
    if stamp < 0:
        raise _Invalid(f"negative timestamp {stamp}")
    return stamp


_CLAUSE: Final = re.compile(
    r"""\s*'(?P<prop>[A-Za-z0-9_\-:]+)'\s*(?P<op>==|!=|not\s+in|in)\s*"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|\{[^}]*\})\s*"""
)
_STRING: Final = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _compile_filter(text: Json) -> Callable[[str, Mapping[str, Json]], bool]:
    """The ReQL subset reclio sends, as a predicate over (item id, values)."""
    if text is None or text == "":
        return lambda _item, _values: True
    if not isinstance(text, str):
        raise _Invalid(f"filter must be a string, got {text!r}")
    clauses: list[Callable[[str, Mapping[str, Json]], bool]] = []
    position = 0
    while True:
        match = _CLAUSE.match(text, position)
        if match is None:
            raise _Invalid(f"the local Recombee does not understand the filter {text!r}")
        clauses.append(_clause(match["prop"], " ".join(match["op"].split()), match["value"]))
        position = match.end()
        if position == len(text):
            break
        if not text.startswith("and", position):
            raise _Invalid(f"the local Recombee does not understand the filter {text!r}")
        position += len("and")
    return lambda item, values: all(clause(item, values) for clause in clauses)


def _clause(prop: str, op: str, literal: str) -> Callable[[str, Mapping[str, Json]], bool]:
    strings = {json.loads(f'"{s}"') for s in _STRING.findall(literal)}

    def read(item: str, values: Mapping[str, Json]) -> Json:
        return item if prop == "itemId" else values.get(prop)

    if op == "==":
        return lambda item, values: read(item, values) in strings
    if op == "!=":
        return lambda item, values: read(item, values) not in strings
    if op == "in":
        return lambda item, values: read(item, values) in strings
    return lambda item, values: read(item, values) not in strings


def _is_write(method: str, path: str) -> bool:
    return method in {"PUT", "POST", "DELETE"} and not path.startswith("/recomms/")


@attrs.define
class _Faults:
    status: int | None = None
    status_times: int | None = None
    status_after: int = 0
    delay: float = 0.0
    drop_every: int = 0
    member_status: int | None = None
    member_every: int = 0
    malformed_times: int = 0
    writes: int = 0
    members: int = 0


class LocalRecombee:
    """A local Recombee server on ``127.0.0.1`` (an ephemeral port), for tests and benchmarks.

    Use it as a context manager, or call `start` and `stop`::

        with LocalRecombee() as server:
            server.add_database("test-db", "secret-token")
            config = RecombeeConfig("test-db", "secret-token", base_uri=server.base_uri)

    Args:
        signature_lifetime: Seconds a signed request stays valid (Recombee's own limit is
            short; requests are signed just before they are sent).
    """

    def __init__(self, *, signature_lifetime: float = 30.0) -> None:
        self.signature_lifetime = signature_lifetime
        self._databases: dict[str, _Database] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._faults = _Faults()
        self._log: list[RecordedRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on an ephemeral loopback port and serve in a background thread."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner._serve(self, "GET")

            def do_PUT(self) -> None:
                owner._serve(self, "PUT")

            def do_POST(self) -> None:
                owner._serve(self, "POST")

            def do_DELETE(self) -> None:
                owner._serve(self, "DELETE")

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Quiet: tests read `LocalRecombee.requests` instead."""

        self._stopping.clear()
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, name="local-recombee", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port; a delayed answer in flight is cut short."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._httpd is None:
            msg = "the server is not running"
            raise RuntimeError(msg)
        return int(self._httpd.server_address[1])

    @property
    def base_uri(self) -> str:
        """``http://127.0.0.1:PORT``: the value for ``RecombeeConfig.base_uri``."""
        return f"http://127.0.0.1:{self.port}"

    # -- databases -----------------------------------------------------------------------

    def add_database(self, database_id: str, token: str) -> None:
        """Create an empty database signed with ``token`` (replacing one of that id)."""
        with self._lock:
            self._databases[database_id] = _Database(token)

    def item_ids(self, database_id: str) -> set[str]:
        """Every item id the database holds."""
        with self._lock:
            return set(self._databases[database_id].items)

    def item_values(self, database_id: str, item_id: str) -> dict[str, Json] | None:
        """An item's property values, or ``None`` when the database lacks the item."""
        with self._lock:
            values = self._databases[database_id].items.get(item_id)
            return None if values is None else dict(values)

    def properties(self, database_id: str) -> dict[str, str]:
        """The database's item properties: name to type."""
        with self._lock:
            return dict(self._databases[database_id].properties)

    def delete_property(self, database_id: str, name: str) -> None:
        """Remove an item property (and its values), as an admin might in the web UI."""
        with self._lock:
            self._databases[database_id].delete_property({}, name)

    def interactions(
        self, database_id: str, kind: Literal["detailviews", "ratings", "bookmarks"]
    ) -> dict[tuple[str, str, float], float | None]:
        """One kind of interaction: ``(user, item, timestamp)`` to the rating (or ``None``)."""
        with self._lock:
            return dict(self._databases[database_id].interactions[kind])

    # -- faults --------------------------------------------------------------------------

    def fail_requests(self, status: int, *, times: int | None = None, after: int = 0) -> None:
        """Answer HTTP requests with ``status``: ``after`` more succeed first, then ``times``.

        ``times=None`` fails every request until `clear_faults`.
        """
        with self._lock:
            self._faults.status, self._faults.status_times = status, times
            self._faults.status_after = after

    def delay(self, seconds: float) -> None:
        """Wait this long before answering each request (a slow or hung service)."""
        with self._lock:
            self._faults.delay = seconds

    def drop_writes(self, *, every: int = 1) -> None:
        """Acknowledge every ``every``-th write as done but store nothing (silent loss)."""
        with self._lock:
            self._faults.drop_every, self._faults.writes = every, 0

    def fail_members(self, status: int, *, every: int = 1) -> None:
        """Answer every ``every``-th batch member with ``status`` (the batch itself is 200)."""
        with self._lock:
            self._faults.member_status, self._faults.member_every = status, every
            self._faults.members = 0

    def malformed(self, *, times: int = 1) -> None:
        """Answer the next ``times`` requests with 200 and a body that is not JSON."""
        with self._lock:
            self._faults.malformed_times = times

    def clear_faults(self) -> None:
        """Behave again."""
        with self._lock:
            self._faults = _Faults()

    # -- counters ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every HTTP request served so far, in order (batches count once)."""
        with self._lock:
            return list(self._log)

    @property
    def batch_members(self) -> int:
        """Requests carried inside batches so far."""
        with self._lock:
            return sum(r.members for r in self._log)

    def reset_counters(self) -> None:
        """Forget the requests served so far."""
        with self._lock:
            self._log.clear()

    # -- serving -------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        target = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw_body = handler.rfile.read(length) if length else b""
        with self._lock:
            delay = self._faults.delay
        if delay:
            self._stopping.wait(delay)
        reply, raw = self._answer(method, handler.path, target.path, target.query, raw_body)
        body = raw if raw is not None else json.dumps(reply.body).encode()
        handler.send_response(reply.code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _answer(
        self, method: str, raw_target: str, path: str, query: str, raw_body: bytes
    ) -> tuple[_Reply, bytes | None]:
        """The reply (and a raw body, for a malformed one) to one HTTP request."""
        database_id, _, rest = path.lstrip("/").partition("/")
        rest = "/" + rest
        with self._lock:
            members = 0
            if method == "POST" and rest == "/batch/":
                with contextlib.suppress(_Invalid, TypeError):
                    members = len(_json_object(raw_body).get("requests") or ())
            self._log.append(RecordedRequest(method, rest, members))
            injected = self._injected()
            if injected is not None:
                return injected
            database = self._databases.get(database_id)
            if database is None:
                return _error(404, f'Database "{database_id}" does not exist!'), None
            refusal = self._check_signature(database, raw_target, query)
            if refusal is not None:
                return refusal, None
            try:
                params = _params(method, query, raw_body)
            except _Invalid as exc:
                return _error(400, str(exc)), None
            if method == "POST" and rest == "/batch/":
                return self._batch(database, params), None
            return self._one(database, method, rest, params, member=False), None

    def _injected(self) -> tuple[_Reply, bytes | None] | None:
        """A request-level fault due now, if any (called with the lock held)."""
        faults = self._faults
        if faults.status is not None:
            if faults.status_after > 0:
                faults.status_after -= 1
            elif faults.status_times is None or faults.status_times > 0:
                if faults.status_times is not None:
                    faults.status_times -= 1
                return _error(faults.status, "injected failure"), None
        if faults.malformed_times > 0:
            faults.malformed_times -= 1
            return _Reply(200), b"<html>502 Bad Gateway</html>"
        return None

    def _check_signature(self, database: _Database, raw_target: str, query: str) -> _Reply | None:
        marker = raw_target.rfind("&hmac_sign=")
        if marker < 0:
            return _error(401, "missing hmac_sign")
        signed, signature = raw_target[:marker], raw_target[marker + len("&hmac_sign=") :]
        expected = hmac.new(database.token.encode(), signed.encode(), hashlib.sha1).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return _error(401, "Wrong signature")
        stamp = dict(parse_qsl(query)).get("hmac_timestamp", "")
        try:
            age = abs(time.time() - int(stamp))
        except ValueError:
            return _error(401, "missing hmac_timestamp")
        if age > self.signature_lifetime:
            return _error(401, "Signature expired")
        return None

    def _batch(self, database: _Database, params: Mapping[str, Json]) -> _Reply:
        requests = params.get("requests")
        if not isinstance(requests, list):
            return _error(400, "a batch needs a list of requests")
        if len(requests) > _BATCH_MAX:
            return _error(400, f"a batch holds at most {_BATCH_MAX} requests")
        answers = []
        for request in requests:
            if not isinstance(request, dict):
                answers.append(attrs.asdict(_error(400, "a batch member must be an object")))
                continue
            reply = self._one(
                database,
                str(request.get("method", "")).upper(),
                str(request.get("path", "")),
                request.get("params") or {},
                member=True,
            )
            answers.append({"code": reply.code, "json": reply.body})
        return _Reply(200, answers)

    def _one(
        self,
        database: _Database,
        method: str,
        path: str,
        params: Mapping[str, Json],
        *,
        member: bool,
    ) -> _Reply:
        faults = self._faults
        if member and faults.member_status is not None:
            faults.members += 1
            if faults.members % faults.member_every == 0:
                return _error(faults.member_status, "injected member failure")
        if _is_write(method, path) and faults.drop_every:
            faults.writes += 1
            if faults.writes % faults.drop_every == 0:
                return _Reply(201 if method == "PUT" else 200)
        return database.handle(method, path, params)


def _params(method: str, query: str, raw_body: bytes) -> dict[str, Json]:
    """A request's parameters: its query (less the signature), then its JSON body."""
    params: dict[str, Json] = dict(parse_qsl(query, keep_blank_values=True))
    params.pop("hmac_timestamp", None)
    params.pop("hmac_sign", None)
    if method in {"PUT", "POST"} or raw_body.strip() not in {b"", b"{}"}:
        params.update(_json_object(raw_body))
    return params


def _json_object(raw: bytes) -> dict[str, Json]:
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise _Invalid("the body is not JSON") from None
    if not isinstance(data, dict):
        raise _Invalid("the body must be a JSON object")
    return data
