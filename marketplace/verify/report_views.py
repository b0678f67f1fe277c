"""The compliance report pages: the firm's (or, for admins, the platform's) report and
its CSV export."""
from __future__ import annotations

from flask import Response, render_template, request
from flask_login import current_user

from ..accounts.access import login_required
from ..core import clock
from ..errors import ValidationFailed
from ..web.pagination import page_args
from . import reports
from .views import bp


@bp.get("/compliance")
@login_required
def compliance_report():
    scope = reports.scope_for(current_user)
    page, per_page = page_args(request.args)
    errors: dict[str, str] = {}
    try:
        chosen = reports.ReportFilter.from_args(request.args, scope)
    except ValidationFailed as exc:
        chosen, errors = reports.ReportFilter(), exc.fields
    report = reports.build_report(scope, clock.today(), chosen, page, per_page)
    return render_template("verify/compliance_report.html", report=report, errors=errors,
                           windows=reports.WINDOWS)


@bp.get("/compliance.csv")
@login_required
def compliance_csv():
    scope = reports.scope_for(current_user)
    on = clock.today()
    text = reports.report_csv(scope, on)
    who = "platform" if scope.platform else f"firm-{scope.firm_id}"
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="compliance-{who}-{on.isoformat()}.csv"'})
