"""A deterministic demo world: a plausible catalog and users with real taste, no network.

`generate_catalog` builds movies and shows from word lists with real TMDB genre ids,
years, a long tail of vote counts, popularity, cast and overviews whose words are typical of
their genres (so the hashing embedder finds real neighbours). `generate_activity`
draws users from latent taste clusters: each prefers two or three themes (e.g. science
fiction, crime) and leans towards popular titles, so collaborative filtering has signal to
find. Everything comes from one seeded `random.Random`: the same arguments give the
same world in every process.

Stability: caller-stable for the function signatures; the generated contents may change
between minor versions.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

import attrs

from reclio._clock import require_aware
from reclio.domain import (
    Genre,
    Interaction,
    ItemRef,
    MediaType,
    PlaybackProgress,
    Title,
    genre_name,
)

__all__ = [
    "DEMO_USER",
    "THEMES",
    "WORLD_MOMENT",
    "Theme",
    "UserActivity",
    "generate_activity",
    "generate_catalog",
]

DEMO_USER: Final = "demo"
"""The user ``reclio demo`` shows feeds for; always among the generated users."""

WORLD_MOMENT: Final = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
"""The instant the embedded world's activity leads up to, the same in every process, so
repeated runs against one state file see the same history."""


@attrs.frozen
class Theme:
    """A latent taste: the genres it covers for each media type, and words its stories use.

    Attributes:
        name: A short name, e.g. ``"scifi"``.
        movie_genres: TMDB movie genre ids of this theme.
        show_genres: TMDB TV genre ids of this theme.
        words: Nouns and phrases typical of the theme's overviews and titles.
    """

    name: str
    movie_genres: tuple[int, ...]
    show_genres: tuple[int, ...]
    words: tuple[str, ...]

    def genres(self, media_type: MediaType) -> tuple[int, ...]:
        """The theme's genre ids for one media type."""
        return self.movie_genres if media_type is MediaType.MOVIE else self.show_genres


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.replace("_", " ") for word in text.split())


THEMES: Final[tuple[Theme, ...]] = (
    Theme(
        "scifi",
        (878,),
        (10765,),
        _words(
            "spaceship galaxy alien planet android starship colony wormhole robot orbit"
            " asteroid cyborg time_machine space_station distant_future artificial_intelligence"
        ),
    ),
    Theme(
        "fantasy",
        (14, 12),
        (10765,),
        _words(
            "dragon wizard kingdom sword prophecy quest enchanted_forest sorceress throne"
            " ancient_magic elf curse realm heir legend"
        ),
    ),
    Theme(
        "crime",
        (80, 53),
        (80,),
        _words(
            "detective heist gangster murder cartel corrupt_cop witness con_artist mob_boss"
            " bank_robbery undercover_agent prison informant jury killer"
        ),
    ),
    Theme(
        "mystery",
        (9648, 53),
        (9648,),
        _words(
            "secret disappearance clue island manor riddle missing_sister stranger diary"
            " buried_truth small_town inheritance puzzle investigation lighthouse"
        ),
    ),
    Theme(
        "horror",
        (27,),
        (9648,),
        _words(
            "ghost haunted_house demon curse cabin possession nightmare ritual creature"
            " cult graveyard exorcism slasher asylum evil_spirit"
        ),
    ),
    Theme(
        "action",
        (28, 12),
        (10759,),
        _words(
            "mercenary explosion chase soldier hostage assassin special_forces mission"
            " showdown convoy warlord rescue commando bomb getaway"
        ),
    ),
    Theme(
        "comedy",
        (35,),
        (35,),
        _words(
            "wedding roommate road_trip prank best_friend awkward_date family_reunion"
            " office bachelor_party neighbour misfit talent_show babysitter hangover mixup"
        ),
    ),
    Theme(
        "romance",
        (10749, 18),
        (18, 10766),
        _words(
            "love first_kiss heartbreak wedding summer_romance soulmate letter reunion"
            " engagement rivals_to_lovers secret_admirer dance paris second_chance longing"
        ),
    ),
    Theme(
        "drama",
        (18, 36),
        (18,),
        _words(
            "family grief ambition father daughter war_veteran addiction courtroom"
            " immigrant factory scandal legacy redemption farm hospital"
        ),
    ),
    Theme(
        "family",
        (10751, 16),
        (10751, 16, 10762),
        _words(
            "puppy talking_animal adventure_park toy friendship magic_school treasure"
            " grandma summer_camp little_robot lost_kitten birthday forest_friends island"
        ),
    ),
    Theme(
        "documentary",
        (99,),
        (99, 10763),
        _words(
            "true_story ocean wildlife climate investigation archive musician athlete"
            " expedition rainforest pandemic election food history interview"
        ),
    ),
    Theme(
        "war",
        (10752, 36),
        (10768,),
        _words(
            "battalion trenches resistance general occupation frontline bomber spy"
            " empire revolution siege ceasefire regiment partisan homecoming"
        ),
    ),
    Theme(
        "western",
        (37,),
        (37,),
        _words(
            "outlaw sheriff frontier ranch gunslinger saloon bounty_hunter cattle_drive"
            " desert stagecoach gold_rush railroad posse homestead duel"
        ),
    ),
)
"""The latent tastes users are drawn from; every catalog title belongs to one."""

_THEME_WEIGHTS: Final = (9, 6, 9, 6, 6, 10, 11, 7, 14, 6, 3, 3, 2)
"""How common each theme is in the catalog (drama and comedy dominate, as on TMDB)."""

_FIRST_NAMES: Final = _words(
    "Ada Alan Amara Ben Carla Chen Dario Elena Emeka Farah Felix Greta Hiro Ines Ivan Jonas"
    " Kaia Leila Luca Maya Mateo Nadia Noor Omar Priya Rafael Rosa Sami Tessa Theo Uma"
    " Victor Wen Yara Zoe Aurelio Bianca Cyrus Dalia Esme"
)
_LAST_NAMES: Final = _words(
    "Abbott Alvarez Bauer Castillo Dubois Eriksen Ferreira Gallo Haddad Ito Jovanovic Kowalski"
    " Lindqvist Moreau Nakamura Okafor Petrov Quinn Rossi Sato Schmidt Tanaka Usman Varga"
    " Weber Xu Yilmaz Zhang Moreno Novak Ortega Park Reyes Silva Torres Vance Walsh"
)
_ADJECTIVES: Final = _words(
    "Last Silent Broken Hidden Golden Dark Lost Final Wild Burning Frozen Crimson Hollow"
    " Endless Distant Secret Fallen Bright Iron Savage Quiet Electric Midnight Forgotten"
)
_ROLES: Final = _words(
    "young_woman retired_detective single_father reluctant_hero teenage_girl disgraced_doctor"
    " former_soldier struggling_writer ambitious_lawyer lonely_widow rookie_pilot"
    " small-town_teacher runaway_teen aging_musician brilliant_scientist"
)
_VERBS: Final = _words(
    "discovers confronts uncovers must_survive races_against chases escapes_from"
    " falls_for investigates protects battles hunts_for searches_for defends returns_to"
)
_SETTINGS: Final = _words(
    "in_a_coastal_town across_a_ruined_city on_a_remote_island in_the_far_north"
    " during_a_brutal_winter in_1970s_new_york on_the_edge_of_the_desert in_a_quiet_suburb"
    " aboard_a_cargo_ship in_the_mountains"
)
_STAKES: Final = _words(
    "before_it_is_too_late while_old_wounds_reopen as_a_storm_closes_in"
    " with_everything_at_stake though_nobody_believes_them as_the_past_catches_up"
)

_MOVIE_IDS: Final = range(11, 1_200_000)
_SHOW_IDS: Final = range(1, 250_000)


def _pick_theme(rng: random.Random) -> Theme:
    return rng.choices(THEMES, weights=_THEME_WEIGHTS)[0]


def _name(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"


def _title_name(rng: random.Random, theme: Theme) -> str:
    noun, other = (word.title() for word in rng.sample(theme.words, 2))
    adjective = rng.choice(_ADJECTIVES)
    pattern = rng.randrange(6)
    if pattern == 0:
        return f"The {adjective} {noun}"
    if pattern == 1:
        return f"{noun} of the {adjective} {other}"
    if pattern == 2:  # noqa: PLR2004 - one of six title shapes
        return f"{rng.choice(_FIRST_NAMES)}'s {noun}"
    if pattern == 3:  # noqa: PLR2004
        return f"{adjective} {noun}"
    if pattern == 4:  # noqa: PLR2004
        return f"{noun} and the {other}"
    return noun


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _overview(rng: random.Random, theme: Theme, second: Theme | None) -> str:
    words = list(theme.words)
    first = (
        f"{_a(rng.choice(_ROLES)).capitalize()} {rng.choice(_VERBS)} {_a(rng.choice(words))}"
        f" {rng.choice(_SETTINGS)} {rng.choice(_STAKES)}."
    )
    extra = rng.sample(words, 3)
    middle = f"Between the {extra[0]}, the {extra[1]} and {_a(extra[2])}, nothing is simple."
    if second is None:
        return f"{first} {middle}"
    flavour = rng.sample(list(second.words), 2)
    return f"{first} {middle} Along the way: {_a(flavour[0])} and {_a(flavour[1])}."


def _genres(
    rng: random.Random, media_type: MediaType, theme: Theme, second: Theme | None
) -> tuple[Genre, ...]:
    ids = list(theme.genres(media_type))
    if len(ids) > 1 and rng.random() < 0.4:  # noqa: PLR2004 - some titles drop a secondary genre
        ids = ids[:1]
    if second is not None:
        ids.append(rng.choice(second.genres(media_type)))
    unique = list(dict.fromkeys(ids))
    return tuple(Genre(gid, name) for gid in unique if (name := genre_name(media_type, gid)))


def _make_title(rng: random.Random, ref: ItemRef, names: set[str]) -> tuple[Title, Theme]:
    theme = _pick_theme(rng)
    second = _pick_theme(rng) if rng.random() < 0.45 else None  # noqa: PLR2004 - share of blends
    if second is theme:
        second = None
    name = _title_name(rng, theme)
    while name in names:
        name = f"{name} {rng.choice(('II', 'Returns', 'Reborn', 'Rising', '2'))}"
    names.add(name)
    movie = ref.media_type is MediaType.MOVIE
    # A long tail: most titles have a few dozen votes, a few have tens of thousands.
    vote_count = int(math.exp(rng.gauss(4.2, 1.9)))
    spread = 1.6 if vote_count < 50 else 0.9  # noqa: PLR2004 - few votes, noisy averages
    vote_average = round(min(9.6, max(1.0, rng.gauss(6.4, spread))), 1) if vote_count else 0.0
    oldest = 1950 if movie else 1985
    year = 2026 - int(min(2026 - oldest, abs(rng.gauss(0, 14))))
    recency = math.exp(-(2026 - year) / 8)
    popularity = round(0.6 + math.sqrt(vote_count) * (0.3 + recency) * rng.uniform(0.5, 1.5), 3)
    runtime = int(rng.gauss(108, 18)) if movie else rng.choice((22, 25, 30, 44, 50, 55, 60))
    title = Title(
        ref,
        name,
        overview=_overview(rng, theme, second),
        genres=_genres(rng, ref.media_type, theme, second),
        year=year,
        vote_average=vote_average,
        vote_count=vote_count,
        popularity=popularity,
        cast=tuple(_name(rng) for _ in range(5)),
        director=_name(rng),
        runtime=max(runtime, 60) if movie else runtime,
    )
    return title, theme


def generate_catalog(*, movies: int = 2000, shows: int = 1000, seed: int = 7) -> list[Title]:
    """A deterministic catalog of ``movies`` movies then ``shows`` shows, each by TMDB id.

    Movie and show ids come from separate ranges that overlap (``movie_42`` and ``tv_42``
    may both exist: TMDB numbers the two media types separately).

    Args:
        movies: How many movies.
        shows: How many shows.
        seed: Seed of the only source of randomness.

    Returns:
        Movies sorted by id, then shows sorted by id.

    Raises:
        ValueError: a negative count, or more titles than the id ranges hold.
    """
    if movies < 0 or shows < 0 or movies > len(_MOVIE_IDS) or shows > len(_SHOW_IDS):
        msg = f"counts must be between 0 and the id ranges, got movies={movies}, shows={shows}"
        raise ValueError(msg)
    rng = random.Random(seed)  # noqa: S311 - demo data, not cryptography
    names: set[str] = set()
    titles: list[Title] = []
    for media_type, ids, count in (
        (MediaType.MOVIE, _MOVIE_IDS, movies),
        (MediaType.TV, _SHOW_IDS, shows),
    ):
        for tmdb_id in sorted(rng.sample(ids, count)):
            title, _ = _make_title(rng, ItemRef(media_type, tmdb_id), names)
            titles.append(title)
    return titles


@attrs.frozen
class UserActivity:
    """One generated user's activity, in the shapes the interaction source returns.

    Attributes:
        user_id: The user.
        views: Watch-history entries, newest first.
        ratings: Ratings (1..10 stars, normalized), newest first.
        bookmarks: Watchlist entries, newest first.
        playback: Titles paused part-way, newest first.
        themes: Names of the latent tastes the user was drawn from (the ground truth).
    """

    user_id: str
    views: tuple[Interaction, ...] = ()
    ratings: tuple[Interaction, ...] = ()
    bookmarks: tuple[Interaction, ...] = ()
    playback: tuple[PlaybackProgress, ...] = ()
    themes: tuple[str, ...] = ()


def _theme_of(title: Title) -> frozenset[str]:
    media_type = title.media_type
    ids = {genre.id for genre in title.genres}
    return frozenset(theme.name for theme in THEMES if ids & set(theme.genres(media_type)))


def _weighted_sample(rng: random.Random, weights: Sequence[float], count: int) -> list[int]:
    """``count`` distinct indices, drawn with probability proportional to weight.

    Efraimidis and Spirakis: keep the largest ``u ** (1 / w)``; one pass, no replacement.
    """
    random_ = rng.random
    keyed = heapq.nlargest(count, ((random_() ** (1.0 / w), i) for i, w in enumerate(weights)))
    return [i for _, i in keyed]


def _stars(rng: random.Random, title: Title, liked: bool) -> int:  # noqa: FBT001 - private helper
    base = 7.6 if liked else 5.0
    quality = (title.vote_average - 6.4) * 0.6 if title.vote_count else 0.0
    return max(1, min(10, round(rng.gauss(base + quality, 1.3))))


@attrs.frozen
class _Pool:
    """The catalog with what user generation reads per title, computed once."""

    titles: Sequence[Title]
    themes: Sequence[frozenset[str]]
    root_popularity: Sequence[float]
    is_show: Sequence[bool]

    @classmethod
    def of(cls, catalog: Sequence[Title]) -> _Pool:
        return cls(
            list(catalog),
            [_theme_of(title) for title in catalog],
            [math.sqrt(title.popularity) for title in catalog],
            [title.media_type is MediaType.TV for title in catalog],
        )


def _user(
    rng: random.Random,
    user_id: str,
    pool: _Pool,
    now: datetime,
    *,
    themes: Sequence[Theme],
    views: int,
) -> UserActivity:
    catalog, title_themes = pool.titles, pool.themes
    liked = frozenset(theme.name for theme in themes)
    prefers_shows = rng.random() < 0.35  # noqa: PLR2004 - about a third watch mostly shows
    weights = [
        root * (12.0 if names & liked else 0.35) * (2.0 if show == prefers_shows else 1.0)
        for root, names, show in zip(pool.root_popularity, title_themes, pool.is_show, strict=True)
    ]
    picked = _weighted_sample(rng, weights, min(views, len(catalog)))
    watched = [catalog[i] for i in picked]
    # Recent activity is denser: exponential ages, capped at three years.
    ages = sorted(timedelta(days=min(1095.0, rng.expovariate(1 / 180))) for _ in watched)
    history = [
        Interaction.view(user_id, title.ref, now - age - timedelta(minutes=rng.randrange(1440)))
        for title, age in zip(watched, ages, strict=True)
    ]
    ratings = [
        Interaction.rating(
            user_id,
            view.ref,
            _stars(rng, catalog[i], bool(title_themes[i] & liked)),
            view.at + timedelta(minutes=rng.randrange(5, 180)),
        )
        for view, i in zip(history, picked, strict=True)
        if rng.random() < 0.4  # noqa: PLR2004 - people rate a minority of what they watch
    ]
    seen = set(picked)
    unseen = [i for i in range(len(catalog)) if i not in seen]
    unseen_weights = [
        pool.root_popularity[i] * (15.0 if title_themes[i] & liked else 0.2) for i in unseen
    ]
    wishes = _weighted_sample(rng, unseen_weights, rng.randint(2, 15))
    wished = [catalog[unseen[i]] for i in wishes]
    bookmarks = [
        Interaction.bookmark(user_id, t.ref, now - timedelta(days=rng.uniform(0, 120)))
        for t in wished
    ]
    paused = [
        PlaybackProgress(
            t.ref,
            round(rng.uniform(5, 95), 1),
            now - timedelta(hours=rng.uniform(1, 24 * 14)),
        )
        for t in wished[: rng.randint(2, 3) if user_id == DEMO_USER else rng.randint(0, 3)]
    ]
    return UserActivity(
        user_id,
        views=tuple(sorted(history, key=lambda i: (i.at, i.ref), reverse=True)),
        ratings=tuple(sorted(ratings, key=lambda i: (i.at, i.ref), reverse=True)),
        bookmarks=tuple(sorted(bookmarks, key=lambda i: (i.at, i.ref), reverse=True)),
        playback=tuple(sorted(paused, key=lambda p: (p.paused_at, p.ref), reverse=True)),
        themes=tuple(theme.name for theme in themes),
    )


def generate_activity(
    catalog: Sequence[Title], *, users: int = 300, seed: int = 7, now: datetime
) -> dict[str, UserActivity]:
    """Activity for ``users`` users (``"demo"`` first, then ``user_0001``...), deterministic.

    Each user prefers two or three themes (`THEMES`), watches mostly titles of those
    themes and mostly popular ones, rates about 40 % of them (higher when on-theme),
    bookmarks a few unseen on-theme titles and may have some paused. The ``"demo"`` user
    likes science fiction, mystery and crime and has a full history.

    Args:
        catalog: The titles to draw from (e.g. `generate_catalog`).
        users: How many users, at least 1 (``"demo"`` is always one of them).
        seed: Seed of the only source of randomness.
        now: The moment the activity leads up to (timezone-aware); nothing is later.

    Returns:
        Activity by user id, in generation order.

    Raises:
        ValueError: ``users`` below 1, an empty catalog, or a naive ``now``.
    """
    require_aware(now, "now")
    if users < 1 or not catalog:
        msg = f"need at least one user and one title, got users={users}, titles={len(catalog)}"
        raise ValueError(msg)
    rng = random.Random(seed)  # noqa: S311 - demo data, not cryptography
    pool = _Pool.of(catalog)
    by_name = {theme.name: theme for theme in THEMES}
    world: dict[str, UserActivity] = {}
    for n in range(users):
        if n == 0:
            user_id = DEMO_USER
            themes = [by_name["scifi"], by_name["mystery"], by_name["crime"]]
            views = 90
        else:
            user_id = f"user_{n:04d}"
            themes = rng.sample(THEMES, rng.choice((2, 2, 3)))
            views = max(3, min(400, int(math.exp(rng.gauss(3.4, 0.9)))))
        world[user_id] = _user(rng, user_id, pool, now, themes=themes, views=views)
    return world
