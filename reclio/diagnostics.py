"""Diagnose and health: the Recombee verdicts, and a monitor that pings every adapter.

* `diagnose_recombee` answers "is Recombee working for reclio, and if not, what do I do?"
  with one of eight verdicts (DESIGN section 8), the first that matches, each with next
  steps in plain English. Its silent-write check looks up a random sample of the titles
  marked synced locally; it never compares a capped remote count with a local total (the
  original service's bug, which made ``ok`` unreachable past 44 titles).
* `render_diagnosis` turns a diagnosis into the text (or JSON) and exit code of
  ``reclio diagnose recombee [--json]``.
* `HealthMonitor` pings every adapter that can (`SupportsPing`) on a schedule, keeps the
  last report for ``/healthz``, and logs one WARNING when health degrades and one INFO
  when it recovers; nothing while it is unchanged.

The Recombee SDK is imported only when a recommender is built; ``import reclio.diagnostics``
does not import it.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
import json
import logging
import random
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, NoReturn

import attrs

from reclio._clock import Clock, utc_now
from reclio.adapters.recombee import RecombeeRecommender, UnknownDatabase, sdk_version
from reclio.errors import ConfigurationError, SourceError
from reclio.leases import hold
from reclio.ports import CatalogStore, StateStore, SupportsPing
from reclio.sync import CONTENT_LEASE

if TYPE_CHECKING:
    from reclio.config import RecombeeConfig
    from reclio.domain import ItemRef

__all__ = [
    "VERDICTS",
    "Diagnosis",
    "HealthMonitor",
    "HealthReport",
    "HealthStatus",
    "ProbeResult",
    "RepairReport",
    "Verdict",
    "VerdictSpec",
    "diagnose_recombee",
    "render_diagnosis",
    "requeue_missing",
    "run_diagnose",
    "verdicts_markdown",
]

_log = logging.getLogger("reclio.diagnostics")

JsonValue = str | int | float | bool | None | list[str]
"""What a diagnosis detail may hold (it is printed as JSON)."""

_EXAMPLES: Final = 10
"""Missing ids listed in the details, at most."""


class Verdict(enum.Enum):
    """What `diagnose_recombee` found, in the order the checks run (the first match wins)."""

    SDK_MISSING = "sdk_missing"
    NO_CREDENTIALS = "no_credentials"
    CLIENT_INIT_FAILED = "client_init_failed"
    UNREACHABLE = "unreachable"
    WRONG_REGION = "wrong_region"
    NO_PUSHES_YET = "no_pushes_yet"
    WRITES_SILENTLY_FAILING = "writes_silently_failing"
    OK = "ok"


@attrs.frozen
class VerdictSpec:
    """One verdict as data: when it is given and what to do about it.

    Attributes:
        verdict: The verdict.
        condition: When it is given, in words.
        next_steps: What to do, in order.
    """

    verdict: Verdict
    condition: str
    next_steps: tuple[str, ...]


VERDICTS: Final[tuple[VerdictSpec, ...]] = (
    VerdictSpec(
        Verdict.SDK_MISSING,
        "the Recombee SDK (`recombee-api-client`) cannot be imported",
        (
            "Install the extra: pip install 'reclio[recombee]' (the official SDK, 6.x).",
            "Restart the process so it imports the SDK.",
        ),
    ),
    VerdictSpec(
        Verdict.NO_CREDENTIALS,
        "no Recombee database id or private token is configured",
        (
            (
                "Set RECLIO_RECOMBEE_DATABASE_ID and RECLIO_RECOMBEE_TOKEN (the database's"
                " private token, from Settings in the Recombee web UI)."
            ),
            (
                "Set RECLIO_RECOMBEE_REGION to the region in the web UI's API URL"
                " (e.g. eu-west for rapi-eu-west.recombee.com), then restart."
            ),
            "Without them reclio uses its local recommender, which needs no service.",
        ),
    ),
    VerdictSpec(
        Verdict.CLIENT_INIT_FAILED,
        "building the Recombee client raised (bad region or base URI, RAPI_URI conflict)",
        (
            "Read the error in the details: it names the setting at fault.",
            (
                "RECLIO_RECOMBEE_REGION must be one of ap-se, ca-east, eu-west, us-west;"
                " RECLIO_RECOMBEE_BASE_URI must be host[:port] or http(s)://host[:port]."
            ),
            (
                "Unset the RAPI_URI environment variable: the SDK reads it and it overrides"
                " reclio's settings."
            ),
        ),
    ),
    VerdictSpec(
        Verdict.UNREACHABLE,
        "a cheap signed read failed: network, timeout, 5xx, or the token was refused",
        (
            "Read the error in the details.",
            (
                "Refused (401/403): check RECLIO_RECOMBEE_TOKEN is the private token of this"
                " database (not the public one) and that the machine's clock is right (requests"
                " are signed with the time)."
            ),
            (
                "Timeout or cannot reach: check the network and DNS from this machine to the"
                " host in the details, and status.recombee.com."
            ),
            "Feeds keep working meanwhile: they read the lists the last good sync wrote.",
        ),
    ),
    VerdictSpec(
        Verdict.WRONG_REGION,
        "Recombee says the database does not exist at this host, or every sampled title"
        " that reclio pushed is missing",
        (
            (
                "Open the Recombee web UI: the API URL of the database names its region"
                " (rapi-eu-west.recombee.com is eu-west). Set RECLIO_RECOMBEE_REGION to it and"
                " restart."
            ),
            "Check RECLIO_RECOMBEE_DATABASE_ID is the id shown in the web UI, exactly.",
            (
                "If the database was reset or replaced, reclio still thinks its titles are"
                " there: run `reclio diagnose recombee --repair` (it queues every missing title)"
                " and then `reclio sync content`."
            ),
        ),
    ),
    VerdictSpec(
        Verdict.NO_PUSHES_YET,
        "Recombee answers, but no title is marked synced locally",
        (
            (
                "Run `reclio sync content`: it pushes the catalog (about a minute per 10,000"
                " titles)."
            ),
            (
                "If content sync ran and this persists, read its report: every title whose push"
                " failed is listed there and retried by the next run."
            ),
        ),
    ),
    VerdictSpec(
        Verdict.WRITES_SILENTLY_FAILING,
        "some of a random sample of titles marked synced locally are missing in Recombee",
        (
            "The details say how many of the sample are missing and name some of them.",
            (
                "Run `reclio diagnose recombee --repair`: it looks up every synced title and"
                " queues the missing ones, which the next `reclio sync content` pushes again."
            ),
            (
                "If titles go missing again, check the Recombee web UI for deletions by another"
                " application or a plan limit on items."
            ),
        ),
    ),
    VerdictSpec(
        Verdict.OK,
        "Recombee answers and every sampled title is there",
        (
            "Nothing to do.",
            (
                "If the web UI looks empty, check it shows the same database id as"
                " RECLIO_RECOMBEE_DATABASE_ID."
            ),
        ),
    ),
)
"""The eight verdicts in check order, with their next steps (the docs render this table)."""

_SPECS: Final[Mapping[Verdict, VerdictSpec]] = {spec.verdict: spec for spec in VERDICTS}


@attrs.frozen
class Diagnosis:
    """The outcome of `diagnose_recombee`.

    Attributes:
        verdict: What was found.
        next_steps: What to do, in plain English, in order.
        details: Evidence (never a secret): the host, the error, how many titles were
            sampled and how many of them are missing, ...
    """

    verdict: Verdict
    next_steps: tuple[str, ...]
    details: Mapping[str, JsonValue] = attrs.field(factory=dict, hash=False)

    @classmethod
    def of(cls, verdict: Verdict, details: Mapping[str, JsonValue]) -> Diagnosis:
        """The diagnosis for ``verdict`` with its standard next steps."""
        return cls(verdict, _SPECS[verdict].next_steps, dict(details))

    @property
    def ok(self) -> bool:
        """True only for `Verdict.OK`."""
        return self.verdict is Verdict.OK

    def as_json(self) -> dict[str, object]:
        """``{"verdict", "next_steps", "details"}``, JSON-ready."""
        return {
            "verdict": self.verdict.value,
            "next_steps": list(self.next_steps),
            "details": dict(self.details),
        }


def _sdk_importable() -> bool:
    try:
        importlib.import_module("recombee_api_client")
    except ImportError:
        return False
    return True


async def _sample_synced(
    catalog: CatalogStore, size: int, rng: random.Random
) -> tuple[int, list[ItemRef]]:
    """How many titles are marked synced, and a uniform sample of them (reservoir: O(size))."""
    seen = 0
    sample: list[ItemRef] = []
    async for batch in catalog.iter_titles(batch_size=1000):
        for record in batch:
            if record.synced_hash is None:
                continue
            seen += 1
            if len(sample) < size:
                sample.append(record.title.ref)
            else:
                slot = rng.randrange(seen)
                if slot < size:
                    sample[slot] = record.title.ref
    return seen, sample


async def diagnose_recombee(
    config: RecombeeConfig | None,
    catalog: CatalogStore,
    *,
    recommender: RecombeeRecommender | None = None,
    sample_size: int | None = None,
    rng: random.Random | None = None,
) -> Diagnosis:
    """Find out whether Recombee works for reclio; the first matching verdict wins.

    The checks, in order: the SDK imports; a database id and token are configured; the
    client builds (skipped when ``recommender`` is given); a cheap signed read answers
    (``ping``); Recombee knows the database; some titles are marked synced locally; a random
    sample of those (``sample_size``, default ``config.diagnose_sample``) is looked up
    remotely, one by one in a batch. All missing is ``wrong_region``; some missing is
    ``writes_silently_failing``. Nothing is written to Recombee.

    Args:
        config: The Recombee settings, or ``None`` when none are configured.
        catalog: The state store's catalog (which titles are marked synced).
        recommender: A recommender to probe (default: one built from ``config``, closed after).
        sample_size: Titles to look up (default ``config.diagnose_sample``).
        rng: Random source of the sample (default: a fresh, unseeded one).

    Raises:
        SourceError: the local catalog store failed (Recombee's own failures are verdicts).
    """
    details: dict[str, JsonValue] = {"sdk_version": sdk_version()}
    if not _sdk_importable():
        return Diagnosis.of(Verdict.SDK_MISSING, details)
    if config is not None:
        details |= {
            "database_id": config.database_id or None,
            "token_set": bool(config.token),
            "region": config.region,
            "base_uri": config.base_uri,
        }
    if config is None or not config.database_id or not config.token:
        return Diagnosis.of(Verdict.NO_CREDENTIALS, details)
    owned = recommender is None
    if recommender is None:
        try:
            recommender = RecombeeRecommender(config)
        except ConfigurationError as exc:
            return Diagnosis.of(Verdict.CLIENT_INIT_FAILED, details | {"error": str(exc)})
    size = sample_size if sample_size is not None else config.diagnose_sample
    chooser = rng or random.Random()  # noqa: S311 - sampling titles, not secrets
    try:
        return await _probe(recommender, catalog, size, chooser, details)
    finally:
        if owned:
            await recommender.aclose()


async def _probe(
    recommender: RecombeeRecommender,
    catalog: CatalogStore,
    size: int,
    rng: random.Random,
    details: dict[str, JsonValue],
) -> Diagnosis:
    """The remote checks: ping, then the sample of titles marked synced."""
    details["endpoint"] = recommender.endpoint.url
    started = time.perf_counter()
    try:
        await recommender.ping()
    except SourceError as exc:
        return _remote_failure(exc, details)
    details["ping_ms"] = round(1000 * (time.perf_counter() - started), 1)
    synced, sample = await _sample_synced(catalog, size, rng)
    details["synced_locally"] = synced
    if synced == 0:
        return Diagnosis.of(Verdict.NO_PUSHES_YET, details)
    try:
        missing = await recommender.missing_items(sample)
    except SourceError as exc:
        return _remote_failure(exc, details)
    details |= {
        "sampled": len(sample),
        "missing": len(missing),
        "missing_examples": [ref.item_id for ref in sorted(missing)[:_EXAMPLES]],
    }
    if len(missing) == len(sample):
        return Diagnosis.of(Verdict.WRONG_REGION, details)
    if missing:
        return Diagnosis.of(Verdict.WRITES_SILENTLY_FAILING, details)
    return Diagnosis.of(Verdict.OK, details)


def _remote_failure(exc: SourceError, details: Mapping[str, JsonValue]) -> Diagnosis:
    """An unknown database is ``wrong_region``; any other Recombee failure ``unreachable``."""
    verdict = Verdict.WRONG_REGION if isinstance(exc, UnknownDatabase) else Verdict.UNREACHABLE
    return Diagnosis.of(verdict, {**details, "error": str(exc)})


def render_diagnosis(diagnosis: Diagnosis, *, as_json: bool = False) -> tuple[str, int]:
    """The output and exit code of ``reclio diagnose recombee [--json]``.

    The exit code is 0 only for ``ok``, 1 for any other verdict. With ``as_json`` the text
    is one JSON object: ``{"verdict", "next_steps", "details"}``.
    """
    code = 0 if diagnosis.ok else 1
    if as_json:
        return json.dumps(diagnosis.as_json(), indent=2, sort_keys=False), code
    spec = _SPECS[diagnosis.verdict]
    lines = [f"Recombee: {diagnosis.verdict.value} ({spec.condition})", "", "Next steps:"]
    lines += [f"  {n}. {step}" for n, step in enumerate(diagnosis.next_steps, 1)]
    if diagnosis.details:
        lines += ["", "Details:"]
        for key, value in diagnosis.details.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            lines.append(f"  {key}: {'-' if shown is None or shown == '' else shown}")
    return "\n".join(lines), code


@attrs.frozen
class RepairReport:
    """What `requeue_missing` did.

    Attributes:
        checked: Titles marked synced locally that were looked up in Recombee.
        requeued: Those Recombee lacked, now marked unsynced (the next content sync pushes them).
        examples: Some of the requeued ids.
    """

    checked: int
    requeued: int
    examples: tuple[str, ...] = ()


async def requeue_missing(
    store: StateStore,
    recommender: RecombeeRecommender,
    *,
    chunk: int = 1000,
    owner: str = "diagnose-repair",
    ttl: timedelta = timedelta(minutes=10),
) -> RepairReport:
    """Look up every title marked synced; mark those Recombee lacks as not synced.

    The next content sync then pushes them again. Holds the content-sync lease, so no
    content sync rewrites the catalog meanwhile. Writes nothing to Recombee.

    Raises:
        LeaseHeld: a content sync is running; try again when it is done.
        SourceError: the store or Recombee failed (what was requeued so far stays requeued).
    """
    checked = 0
    requeued: list[ItemRef] = []
    async with hold(store, CONTENT_LEASE, owner=owner, ttl=ttl, what="content sync"):
        synced: list[ItemRef] = []
        async for batch in store.iter_titles(batch_size=chunk):
            synced.extend(r.title.ref for r in batch if r.synced_hash is not None)
        for start in range(0, len(synced), chunk):
            refs = synced[start : start + chunk]
            missing = await recommender.missing_items(refs)
            checked += len(refs)
            if not missing:
                continue
            records = await store.get_titles(sorted(missing))
            await store.put_titles([attrs.evolve(r, synced_hash=None) for r in records])
            requeued.extend(r.title.ref for r in records)
    if requeued:
        _log.warning("requeued %d titles Recombee lacked, of %d checked", len(requeued), checked)
    examples = tuple(ref.item_id for ref in sorted(requeued)[:_EXAMPLES])
    return RepairReport(checked, len(requeued), examples)


_REPAIRABLE: Final = frozenset({Verdict.WRONG_REGION, Verdict.WRITES_SILENTLY_FAILING})


async def run_diagnose(
    config: RecombeeConfig | None,
    store: StateStore,
    *,
    as_json: bool = False,
    repair: bool = False,
    recommender: RecombeeRecommender | None = None,
) -> tuple[str, int]:
    """The whole ``reclio diagnose recombee [--json] [--repair]`` command: text and exit code.

    With ``repair``, a diagnosis of missing titles (``writes_silently_failing``, or
    ``wrong_region`` when the database answers but lacks everything sampled) goes on to
    `requeue_missing`; the details then say how many titles were requeued. The exit code
    stays that of the diagnosis (1) until a content sync has pushed them again.

    Raises:
        LeaseHeld: ``repair`` while a content sync runs.
        SourceError: the local store failed.
    """
    diagnosis = await diagnose_recombee(config, store, recommender=recommender)
    needs_repair = diagnosis.verdict in _REPAIRABLE and "sampled" in diagnosis.details
    if repair and needs_repair and config is not None:
        repairer = recommender or RecombeeRecommender(config)
        try:
            report = await requeue_missing(store, repairer)
        finally:
            if recommender is None:
                await repairer.aclose()
        details = dict(diagnosis.details) | {
            "repair_checked": report.checked,
            "repair_requeued": report.requeued,
        }
        steps = (
            (
                f"Requeued {report.requeued} of {report.checked} synced titles that Recombee"
                " lacked: run `reclio sync content` to push them, then diagnose again."
            ),
        )
        diagnosis = Diagnosis(diagnosis.verdict, steps + diagnosis.next_steps, details)
    return render_diagnosis(diagnosis, as_json=as_json)


def verdicts_markdown() -> str:
    """The verdict matrix of `VERDICTS` as a Markdown table, for the docs."""
    lines = ["| # | verdict | given when | next steps |", "|---|---|---|---|"]
    for number, spec in enumerate(VERDICTS, 1):
        steps = "<br>".join(f"{n}. {step}" for n, step in enumerate(spec.next_steps, 1))
        lines.append(f"| {number} | `{spec.verdict.value}` | {spec.condition} | {steps} |")
    return "\n".join(lines) + "\n"


# -- health ------------------------------------------------------------------------------


class HealthStatus(enum.Enum):
    """Overall health: every probe passed, some failed, or all failed."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@attrs.frozen
class ProbeResult:
    """One adapter's ping.

    Attributes:
        name: The adapter's name in the monitor.
        ok: It answered in time without error.
        error: Why not, when it failed.
        elapsed_ms: How long the ping took.
    """

    name: str
    ok: bool
    error: str | None = None
    elapsed_ms: float = 0.0


@attrs.frozen
class HealthReport:
    """One round of probes.

    Attributes:
        checked_at: When the round started.
        probes: One result per adapter that can ping, in the monitor's order.
    """

    checked_at: datetime
    probes: tuple[ProbeResult, ...]

    @property
    def failing(self) -> tuple[str, ...]:
        """Names of the adapters whose ping failed."""
        return tuple(p.name for p in self.probes if not p.ok)

    @property
    def status(self) -> HealthStatus:
        """OK when every probe passed (or there was none), DOWN when all failed."""
        failing = self.failing
        if not failing:
            return HealthStatus.OK
        return HealthStatus.DOWN if len(failing) == len(self.probes) else HealthStatus.DEGRADED

    @property
    def ok(self) -> bool:
        """True when every probe passed."""
        return self.status is HealthStatus.OK

    def as_json(self) -> dict[str, object]:
        """``{"status", "checked_at", "probes": {name: {ok, error, elapsed_ms}}}``."""
        return {
            "status": self.status.value,
            "checked_at": self.checked_at.isoformat(),
            "probes": {
                p.name: {"ok": p.ok, "error": p.error, "elapsed_ms": p.elapsed_ms}
                for p in self.probes
            },
        }


class HealthMonitor:
    """Pings every adapter that can (`SupportsPing`), on a schedule, and logs changes only.

    The runtime owns one and runs `run` as a background task; ``/healthz`` reads `last`.
    Logging compares the failing adapters with the previous round (the first round
    compares with "all healthy"): new failures log one WARNING naming them, the overall
    status and their errors; recoveries with no new failure log one INFO; an unchanged
    set logs nothing, however long it lasts.

    A ping that raises a `SourceError` or runs past ``timeout`` fails its probe. Any other
    exception is a bug in the adapter and propagates.

    Stability: caller-stable.

    Args:
        adapters: Name to adapter; those without ``ping()`` are left out.
        interval: Seconds between rounds in `run`.
        timeout: Seconds each ping may take.
        clock: Returns the current aware datetime (for ``checked_at``).
    """

    def __init__(
        self,
        adapters: Mapping[str, object],
        *,
        interval: float = 3600.0,
        timeout: float = 10.0,
        clock: Clock = utc_now,
    ) -> None:
        if interval <= 0 or timeout <= 0:
            msg = f"interval and timeout must be positive, got {interval} and {timeout}"
            raise ValueError(msg)
        self._probes: dict[str, SupportsPing] = {
            name: adapter for name, adapter in adapters.items() if isinstance(adapter, SupportsPing)
        }
        self.interval = interval
        self.timeout = timeout
        self._clock = clock
        self._last: HealthReport | None = None

    @property
    def names(self) -> Sequence[str]:
        """The adapters this monitor pings."""
        return list(self._probes)

    @property
    def last(self) -> HealthReport | None:
        """The latest report, or ``None`` before the first round."""
        return self._last

    async def check_once(self) -> HealthReport:
        """Ping every adapter concurrently, log a change of health, and return the report."""
        checked_at = self._clock()
        results = await asyncio.gather(
            *(self._probe(name, adapter) for name, adapter in self._probes.items())
        )
        report = HealthReport(checked_at, tuple(results))
        self._log_change(self._last, report)
        self._last = report
        return report

    async def run(self) -> NoReturn:
        """Check, then sleep ``interval``, forever (cancel the task to stop it)."""
        while True:
            await self.check_once()
            await asyncio.sleep(self.interval)

    async def _probe(self, name: str, adapter: SupportsPing) -> ProbeResult:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                await adapter.ping()
        except SourceError as exc:
            error: str | None = str(exc)
        except TimeoutError:
            error = f"no answer within {self.timeout:g} s"
        else:
            error = None
        elapsed = round(1000 * (time.perf_counter() - started), 1)
        return ProbeResult(name, error is None, error, elapsed)

    @staticmethod
    def _log_change(previous: HealthReport | None, report: HealthReport) -> None:
        before = set(previous.failing) if previous is not None else set()
        now = set(report.failing)
        new, recovered = now - before, before - now
        if new:
            errors = "; ".join(f"{p.name}: {p.error}" for p in report.probes if p.name in new)
            also = f" ({', '.join(sorted(recovered))} recovered)" if recovered else ""
            _log.warning(
                "health %s: %s failing%s - %s",
                report.status.value,
                ", ".join(sorted(new)),
                also,
                errors,
            )
        elif recovered:
            _log.info("health %s: %s recovered", report.status.value, ", ".join(sorted(recovered)))
