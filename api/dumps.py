"""The spontaneous dump register: where each dump stands, toward "every dump closed" by 2030."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gomrac.analysis.errors import ValidationError
from gomrac.api.layers import migrated_engine
from gomrac.geo.models import DUMP_SITE_STATUSES


def register_summary(*, ward_code: str | None, ward_name: str, database_url: str) -> dict[str, Any]:
    """Summarise the dump-site register.

    Sites per status, the share closed (closed or restored), open volume and the oldest open site.
    """
    from gomrac.geo.db import session_scope
    from gomrac.geo.store import load_layer

    with migrated_engine(database_url) as engine, session_scope(engine) as session:
        sites = load_layer(session, kind="dump_sites", ward_code=ward_code)
    counts = {s: int((sites["status"] == s).sum()) if len(sites) else 0 for s in DUMP_SITE_STATUSES}
    total = len(sites)
    done = counts.get("closed", 0) + counts.get("restored", 0)
    open_sites = sites[~sites["status"].isin(["closed", "restored"])] if total else sites
    oldest = None
    if (
        total
        and len(open_sites)
        and "first_seen" in open_sites
        and open_sites["first_seen"].notna().any()
    ):
        oldest = str(min(open_sites["first_seen"].dropna()))
    volume = (
        float(open_sites["volume_m3"].fillna(0).sum())
        if total and "volume_m3" in open_sites
        else 0.0
    )
    return {
        "ward": ward_name,
        "sites": total,
        "by_status": counts,
        "closed_pct": round(100 * done / total, 1) if total else None,
        "open_volume_m3": round(volume, 1),
        "oldest_open_since": oldest,
        "target_2030": "100% of spontaneous dumps closed",
    }


def set_status(
    site_id: int,
    *,
    status: str,
    actor: str,
    note: str | None,
    on: str | None,
    database_url: str,
) -> dict[str, Any]:
    """Change one site's status (audited) and return it."""
    from gomrac.geo.db import session_scope
    from gomrac.geo.store import dump_site_history, set_dump_site_status

    try:
        day = dt.date.fromisoformat(on) if on else None
    except ValueError as exc:
        msg = f"--on {on!r} is not a date (YYYY-MM-DD)"
        raise ValidationError(msg) from exc
    with migrated_engine(database_url) as engine, session_scope(engine) as session:
        site = set_dump_site_status(session, site_id, status=status, actor=actor, note=note, on=day)
        return {
            "id": site.id,
            "status": site.status,
            "closed_on": str(site.closed_on or ""),
            "restored_on": str(site.restored_on or ""),
            "history": len(dump_site_history(session, site_id)),
        }
