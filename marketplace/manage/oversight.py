"""The dispatcher's oversight pages: the live board and the KPIs (HTML, CSV, JSON)."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import (Blueprint, Response, current_app, jsonify, make_response, render_template,
                   request)
from flask_login import current_user
from markupsafe import Markup

from ..accounts.access import firm_required
from ..core.csvsafe import write_csv
from ..errors import NotFound, ValidationFailed
from ..web.security import policy
from . import board, kpis, rollups

bp = Blueprint("oversight", __name__)


def _scope() -> kpis.Scope:
    try:
        weeks = int(request.args.get("weeks", 12))
        technician_id = int(request.args["technician_id"]) \
            if request.args.get("technician_id") else None
    except ValueError:
        raise ValidationFailed.field("weeks", "Give whole numbers.") from None
    if not 1 <= weeks <= 104 or (technician_id is not None and not 0 < technician_id < 2**31):
        raise ValidationFailed.field("weeks", "Between 1 and 104 weeks.")
    site = (request.args.get("site") or "").strip()[:300] or None
    return kpis.scope_for(current_user.membership.firm_id, weeks,
                          technician_id=technician_id, site=site)


@bp.get("/board")
@firm_required()
def live_board():
    firm = current_user.membership.firm
    rows = board.rows_for(firm.id, firm.timezone)
    tile_url = current_app.config.get("MAP_TILE_URL") or ""
    response = make_response(render_template(
        "manage/board.html", rows=rows, labels=board.FLAG_LABELS, tile_url=tile_url,
        data=board.as_json(rows)))
    if tile_url:  # the page alone may load images from the tile server
        parts = urlsplit(tile_url.replace("{s}.", "*."))
        response.headers["Content-Security-Policy"] = policy(
            img_src=f"'self' data: blob: {parts.scheme}://{parts.netloc}")
    return response


@bp.get("/board.json")
@firm_required()
def board_json():
    firm = current_user.membership.firm
    return jsonify(board.as_json(board.rows_for(firm.id, firm.timezone)))


@bp.get("/kpis")
@firm_required()
def kpi_page():
    scope = _scope()
    figures = rollups.dashboard(scope)
    people, sites = kpis.filter_choices(scope.firm_id)
    return render_template("manage/kpis.html", figures=figures, scope=scope,
                           charts={f.kpi.key: Markup(kpis.sparkline(f)) for f in figures},
                           args=request.args, people=people, sites=sites)


def _kpi(key: str) -> kpis.Kpi:
    kpi = kpis.BY_KEY.get(key)
    if kpi is None:
        raise NotFound()
    return kpi


@bp.get("/kpis/<kpi_key>")
@firm_required()
def kpi_detail(kpi_key: str):
    kpi, scope = _kpi(kpi_key), _scope()
    return render_template("manage/kpi_detail.html", figure=kpis.compute(kpi, scope),
                           rows=kpis.counted(kpi, scope), scope=scope, args=request.args)


@bp.get("/kpis/<kpi_key>.csv")
@firm_required()
def kpi_csv(kpi_key: str):
    kpi, scope = _kpi(kpi_key), _scope()
    figure = kpis.compute(kpi, scope)
    rows = [[week.date().isoformat(), "" if value is None else
             (round(value * 100, 1) if kpi.unit == "%" else round(value, 1)), count]
            for week, value, count in figure.weekly]
    text = write_csv(rows, header=["week_starting", kpi.name + (" (%)" if kpi.unit == "%"
                                                                else " (minutes)"), "counted"])
    stamp = datetime.now().strftime("%Y%m%d")
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{kpi.key}-{stamp}.csv"'})
