"""Saving and loading the local engine: one folder with ``state.json`` and ``arrays.npz``.

JSON holds what people may want to read (configuration, title ids, users); NumPy's ``npz``
holds the arrays (interactions, the fitted matrix). Both carry the same random token, so a
crash between the two writes is detected on load instead of mixing two saves. Each file is
written to a temporary name and moved into place (atomic on one file system).
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs
import numpy as np
import scipy.sparse as sp

from reclio.adapters.local._config import LocalRecommenderConfig
from reclio.adapters.local._model import FittedModel
from reclio.domain import Interaction, InteractionKind, ItemRef
from reclio.errors import DecodeError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["SavedState", "read_state", "write_state"]

FORMAT = "reclio-local/1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KINDS = tuple(InteractionKind)


@attrs.frozen
class SavedState:
    """What :func:`read_state` found."""

    config: LocalRecommenderConfig
    refs: tuple[ItemRef, ...]
    catalog_popularity: tuple[float, ...]
    interactions: tuple[Interaction, ...]
    model: FittedModel | None
    model_settings: tuple[object, ...] | None
    fitted_on: int


def write_state(
    path: Path,
    *,
    config: LocalRecommenderConfig,
    refs: Sequence[ItemRef],
    catalog_popularity: Sequence[float],
    interactions: Sequence[Interaction],
    model: FittedModel | None,
    model_settings: tuple[object, ...] | None,
    fitted_on: int,
) -> None:
    """Write one save into the folder ``path`` (created if missing)."""
    path.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    user_ids = sorted({i.user_id for i in interactions})
    user_number = {user: n for n, user in enumerate(user_ids)}
    ref_number = {ref: n for n, ref in enumerate(refs)}
    arrays: dict[str, np.ndarray[Any, Any]] = {
        "token": np.array([token]),
        "i_user": np.array([user_number[i.user_id] for i in interactions], dtype=np.int64),
        "i_item": np.array([ref_number[i.ref] for i in interactions], dtype=np.int64),
        "i_kind": np.array([_KINDS.index(i.kind) for i in interactions], dtype=np.int8),
        "i_at": np.array(
            [(i.at - _EPOCH) // timedelta(microseconds=1) for i in interactions], dtype=np.int64
        ),
        "i_value": np.array(
            [np.nan if i.value is None else i.value for i in interactions], dtype=np.float64
        ),
    }
    model_meta: dict[str, Any] | None = None
    if model is not None:
        model_meta = {
            "algorithm": model.algorithm,
            "n_items": model.n_items,
            "settings": None if model_settings is None else list(model_settings),
        }
        arrays["m_popularity"] = model.popularity
        if model.dense is not None and model.active is not None:
            arrays["m_dense"] = model.dense
            arrays["m_active"] = model.active
        if model.sparse is not None:
            arrays["m_data"] = model.sparse.data
            arrays["m_indices"] = model.sparse.indices
            arrays["m_indptr"] = model.sparse.indptr
        if model.transitions is not None:
            arrays["m_t_data"] = model.transitions.data
            arrays["m_t_indices"] = model.transitions.indices
            arrays["m_t_indptr"] = model.transitions.indptr
    state = {
        "format": FORMAT,
        "token": token,
        "config": attrs.asdict(config),
        "refs": [ref.item_id for ref in refs],
        "catalog_popularity": list(catalog_popularity),
        "users": user_ids,
        "fitted_on": fitted_on,
        "model": model_meta,
    }
    _replace(path / "arrays.npz", lambda handle: np.savez(handle, allow_pickle=False, **arrays))
    _replace(path / "state.json", lambda handle: handle.write(json.dumps(state).encode()))


def read_state(path: Path) -> SavedState:
    """Read the save in the folder ``path``.

    Raises:
        FileNotFoundError: no save there.
        DecodeError: the files are not a (consistent) save of the local recommender.
    """
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        with np.load(path / "arrays.npz", allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (json.JSONDecodeError, zipfile.BadZipFile, ValueError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise _decode_error(f"unreadable save in {path}: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise _decode_error(f"{path / 'state.json'} is not a {FORMAT} save")
    if str(arrays["token"][0]) != state["token"]:
        raise _decode_error(f"{path}: state.json and arrays.npz come from different saves")
    try:
        return _decode(state, arrays)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise _decode_error(f"malformed save in {path}: {exc!r}") from exc


def _decode(state: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]]) -> SavedState:
    config = LocalRecommenderConfig(**state["config"])
    refs = tuple(ItemRef.parse(item_id) for item_id in state["refs"])
    users: list[str] = state["users"]
    interactions = tuple(
        Interaction(
            users[int(user)],
            refs[int(item)],
            _KINDS[int(kind)],
            _EPOCH + timedelta(microseconds=int(at)),
            None if np.isnan(value) else float(value),
        )
        for user, item, kind, at, value in zip(
            arrays["i_user"],
            arrays["i_item"],
            arrays["i_kind"],
            arrays["i_at"],
            arrays["i_value"],
            strict=True,
        )
    )
    model: FittedModel | None = None
    settings: tuple[object, ...] | None = None
    meta = state["model"]
    if meta is not None:
        n_items = int(meta["n_items"])
        model = FittedModel(
            meta["algorithm"],
            n_items,
            arrays["m_popularity"],
            dense=arrays.get("m_dense"),
            active=arrays.get("m_active"),
            sparse=_csr(arrays, "m_", n_items),
            transitions=_csr(arrays, "m_t_", n_items),
        )
        # A save from before the settings were recorded matches no configuration: the
        # first recommend refits it.
        if meta.get("settings") is not None:
            settings = tuple(meta["settings"])
    return SavedState(
        config=config,
        refs=refs,
        catalog_popularity=tuple(float(p) for p in state["catalog_popularity"]),
        interactions=interactions,
        model=model,
        model_settings=settings,
        fitted_on=int(state["fitted_on"]),
    )


def _csr(arrays: dict[str, np.ndarray[Any, Any]], prefix: str, n: int) -> sp.csr_matrix | None:
    if f"{prefix}data" not in arrays:
        return None
    return sp.csr_matrix(
        (arrays[f"{prefix}data"], arrays[f"{prefix}indices"], arrays[f"{prefix}indptr"]),
        shape=(n, n),
    )


def _decode_error(message: str) -> DecodeError:
    return DecodeError(message, service="local", operation="load")


def _replace(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)
