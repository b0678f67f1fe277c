"""Pages a person sees: Stripe's hosted onboarding (an account link leads here and
returns to the app) and the sandbox's own dashboard, where bank debits settle or fail
and payouts arrive, by hand."""
from __future__ import annotations

import html
import re

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .store import ApiError, now

STYLE = """body{font:16px/1.45 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1a1f36}
main{max-width:30rem;margin:0 auto;padding:1.25rem}h1{font-size:1.35rem}
.card{background:#fff;border:1px solid #e3e8ee;border-radius:8px;padding:1rem;margin:1rem 0}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}input{width:100%;box-sizing:border-box;
padding:.55rem;border:1px solid #c1c9d2;border-radius:6px;font:inherit}
button{font:inherit;padding:.6rem 1rem;border-radius:6px;border:0;background:#635bff;color:#fff;
margin:.8rem .4rem 0 0;cursor:pointer}button.secondary{background:#e3e8ee;color:#1a1f36}
.tag{display:inline-block;background:#ffe8a3;border-radius:4px;padding:0 .4rem;font-size:.8rem}
table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:.3rem;
border-bottom:1px solid #e3e8ee;font-size:.9rem}"""


def _page(title: str, body: str, status: int = 200) -> Response:
    return Response(f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
                    f"content='width=device-width,initial-scale=1'><title>{html.escape(title)}"
                    f"</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
                    status=status, mimetype="text/html")


def handle(sb, request: Request) -> Response:
    match = re.fullmatch(r"/connect/onboarding/([\w-]+)", request.path)
    if match:
        return _onboarding(sb, request, match.group(1))
    if request.path in ("/_sandbox", "/_sandbox/"):
        return _dashboard(sb)
    match = re.fullmatch(r"/_sandbox/(payment_intents|payouts)/(\w+)/(settle|fail)",
                         request.path)
    if match and request.method == "POST":
        kind, object_id, verb = match.groups()
        try:
            if kind == "payment_intents":
                sb.settle(object_id, fail_code="account_closed" if verb == "fail" else None)
            else:
                sb.settle_payout(object_id, fail_code="account_closed" if verb == "fail"
                                 else None)
        except ApiError as err:
            return _page("Sandbox", f"<p>{html.escape(str(err))}</p>", 409)
        return redirect("/_sandbox", 303)
    return _page("Not found", "<h1>Not found</h1>", 404)


def _onboarding(sb, request: Request, token: str) -> Response:
    with sb.store.lock:
        link = sb.store.meta.get(f"link:{token}")
        if link is None:
            return _page("Link not found", "<h1>This onboarding link is not valid.</h1>", 404)
        if request.method == "GET":
            # Account links are single use and short lived: a used or expired one sends
            # the person back to the app's refresh URL for a new one.
            if link["state"] != "new" or link["expires_at"] < now():
                return redirect(link["refresh_url"], 303)
            link["state"] = "opened"
            sb.store.save()
        elif link["state"] != "opened":
            return redirect(link["refresh_url"], 303)
        else:
            link["state"] = "used"
            sb.store.save()
    if request.method == "POST":
        if request.form.get("action") == "submit":
            sb.complete_onboarding(link["account"],
                                   with_bank=request.form.get("routing") == "110000000")
        return redirect(link["return_url"], 303)
    account = sb.store.get("account", link["account"])
    email = html.escape(account.get("email") or "")
    return _page("Set up payouts", f"""
<p class=tag>Test mode · Stripe sandbox</p>
<h1>Set up payouts</h1>
<p>Onsite Marketplace partners with Stripe to pay you. Tell us about yourself and where to
send your money.</p>
<form method=post class=card>
<label for=email>Email</label><input id=email name=email value="{email}" readonly>
<label for=name>Legal name</label><input id=name name=name value="Test Technician">
<label for=dob>Date of birth</label><input id=dob name=dob value="1990-01-01">
<label for=ssn>Last 4 of SSN</label><input id=ssn name=ssn value="0000">
<label for=routing>Routing number</label><input id=routing name=routing value="110000000">
<label for=acct>Account number</label><input id=acct name=account value="000123456789">
<button name=action value=submit>Agree and submit</button>
<button name=action value=leave class=secondary>Return without finishing</button>
</form>""")


def _dashboard(sb) -> Response:
    pis = [p for p in sb.objects("payment_intent") if p["status"] == "processing"]
    payouts = [p for p in sb.objects("payout") if p["status"] == "pending"]

    def rows(items, kind):
        return "".join(
            f"<tr><td>{html.escape(i['id'])}</td><td>{i['amount']} {i['currency']}</td><td>"
            f"<form method=post action='/_sandbox/{kind}/{i['id']}/settle' style=display:inline>"
            f"<button>{'Settle' if kind == 'payment_intents' else 'Paid'}</button></form>"
            f"<form method=post action='/_sandbox/{kind}/{i['id']}/fail' style=display:inline>"
            f"<button class=secondary>Fail</button></form></td></tr>" for i in items) or \
            "<tr><td colspan=3>None waiting.</td></tr>"
    return _page("Stripe sandbox", f"""<h1>Stripe sandbox</h1>
<div class=card><h2>Bank debits processing</h2><table>{rows(pis, 'payment_intents')}</table></div>
<div class=card><h2>Payouts on their way</h2><table>{rows(payouts, 'payouts')}</table></div>""")
