"""Admin pages of one organisation: its users and their roles, API tokens, webhook integrations,
alert rules and the alert teams' subscriptions, each with the audit trail of its changes.

Only the organisation's admins (``Principal.can_admin``) see or use them. Every change goes
through the same domain functions as the CLI and the JSON API, which write the audit entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection, select
from starlette.datastructures import FormData

from placehub.access import audit, service
from placehub.access.service import Principal
from placehub.access.tables import ROLES, organisations, users
from placehub.alerts import notify, store
from placehub.alerts.rules import KINDS, SEVERITY_ORDER
from placehub.assets.types import ASSET_TYPES
from placehub.errors import BadRequest, Forbidden, NotFound, PlacehubError
from placehub.ingest.api import refresh_credentials
from placehub.ingest.integrations import (
    NETWORK_CHOICES,
    create_integration,
    list_integrations,
    revoke_integration,
    rotate_integration,
)
from placehub.sta.tables import things
from placehub.web.security import checked_form
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

# The entity types of the audit trail each page shows.
TRAILS = {
    "users": ("User", "Organisation"),
    "tokens": ("ApiToken",),
    "integrations": ("Integration",),
    "alert-rules": ("AlertRule",),
    "alert-teams": ("AlertTeam", "AlertSubscription"),
}
SECTIONS = [
    ("users", "Users and roles", "Who may sign in, and what they may do here"),
    ("tokens", "API tokens", "Tokens that programs use to read and write through the API"),
    ("integrations", "Webhook integrations",
     "Network servers (The Things Stack, ChirpStack) that send uplinks, and their secrets"),
    ("alert-rules", "Alert rules", "What opens an alert, for each kind of asset"),
    ("alert-teams", "Alert teams and subscriptions", "Who hears about which alerts, and how"),
]
TRAIL_LENGTH = 25
NETWORK_LABELS = {"tts": "The Things Stack", "chirpstack": "ChirpStack",
                  "any": "Either network server"}
# Pages that show a secret once: never stored by the browser or a proxy.
NO_STORE = {"Cache-Control": "no-store"}


def _now() -> datetime:
    return datetime.now(UTC)


def _organisation(conn: Connection, slug: str, principal: Principal) -> dict[str, Any]:
    """The organisation ``slug`` as id, slug and name; 404 if unknown, 403 unless ``principal``
    is one of its admins."""
    row = conn.execute(select(organisations).where(organisations.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"no organisation {slug!r}: go to /admin for the ones you administer")
    if not principal.can_admin(int(row.id)):
        raise Forbidden(f"only admins of {row.name} may manage it: ask one of them to give you "
                        "the admin role")
    return {"id": int(row.id), "slug": row.slug, "name": row.name}


def _trail(conn: Connection, principal: Principal, organisation: int,
           section: str) -> list[dict[str, Any]]:
    """The newest audit entries of this page's kind of thing, about this organisation."""
    query = audit.AuditQuery(entities=TRAILS[section], about_organisation=organisation,
                             limit=TRAIL_LENGTH)
    entries = [dict(entry) for entry in audit.list_entries(conn, query, principal)]
    # Role and account changes name the user by id: show the username, as "create" does.
    ids = {int(e["entity_id"]) for e in entries
           if e["entity"] == "User" and str(e["entity_id"] or "").isdigit()}
    names = {int(r.id): str(r.username) for r in conn.execute(
        select(users.c.id, users.c.username).where(users.c.id.in_(sorted(ids) or [-1])))}
    for entry in entries:
        if entry["entity"] == "User" and str(entry["entity_id"] or "").isdigit():
            entry["entity_id"] = names.get(int(entry["entity_id"]), entry["entity_id"])
    return entries


def _flash(request: Request, text: str) -> None:
    request.session["admin_flash"] = text


def _page(request: Request, conn: Connection, principal: Principal, org: dict[str, Any],
          section: str, template: str, *, status_code: int = 200,
          errors: dict[str, str] | None = None, headers: dict[str, str] | None = None,
          **context: Any) -> Response:
    """Render one admin page with its organisation, trail, errors and any flash message."""
    flash_text = request.session.pop("admin_flash", None)
    title = next(t for s, t, _ in SECTIONS if s == section)
    # Every title ends with the council's name; an organisation of another name is said too.
    of = "" if org["name"] == request.app.state.settings.council_name else f" – {org['name']}"
    return render(request, template, status_code=status_code, headers=headers,
                  title=("Error: " if errors else "") + f"{title} – Admin{of}",
                  heading=title, org=org, section=section, sections=SECTIONS,
                  trail=_trail(conn, principal, org["id"], section), errors=errors or {},
                  flash={"success": True, "text": flash_text} if flash_text else None,
                  **context)


def _back(org: dict[str, Any], section: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/{org['slug']}/{section}", status_code=303)


def _message(error: PlacehubError) -> str:
    return error.message[:1].upper() + error.message[1:]


def _write(request: Request, work: Callable[[Connection], T]) -> tuple[T | None, str | None]:
    """Run ``work`` in a transaction of its own: its result, or (all of it rolled back) the
    domain's refusal as a message for the form."""
    try:
        with request.app.state.database.begin() as conn:
            return work(conn), None
    except PlacehubError as error:
        return None, _message(error)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# --- the index -----------------------------------------------------------------------------

@router.get("/admin")
def admin_index(request: Request, principal: Principal = Depends(officer)) -> Response:
    """The organisations this officer administers, each with its admin pages."""
    if not principal.administers:
        raise Forbidden("the admin pages are for organisation admins: ask an admin of your "
                        "organisation to give you the admin role")
    with request.app.state.database.connect() as conn:
        rows = conn.execute(select(organisations).where(
            organisations.c.id.in_(sorted(principal.administers)))
            .order_by(organisations.c.name)).all()
    return render(request, "admin/index.html", title="Admin",
                  organisations=[dict(r._mapping) for r in rows], sections=SECTIONS)


# --- users and roles -----------------------------------------------------------------------

USER_FIELDS = ("username", "display_name", "email", "password", "role")


def _users_page(request: Request, conn: Connection, principal: Principal, org: dict[str, Any],
                **context: Any) -> Response:
    members = service.list_users(conn, org["id"])
    for member in members:
        member["role"] = member["roles"].get(org["slug"])
        member["manageable"] = service.manages_account(
            principal, service.roles_of(conn, member["id"]))
        member["is_self"] = member["id"] == principal.user_id
    return _page(request, conn, principal, org, "users", "admin/users.html", members=members,
                 roles=ROLES, **context)


@router.get("/admin/{slug}/users")
def users_page(request: Request, slug: str, principal: Principal = Depends(officer)) -> Response:
    """The organisation's members with their roles, and the trail of access changes."""
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        return _users_page(request, conn, principal, org)


@router.get("/admin/{slug}/users/new")
def new_user_form(request: Request, slug: str,
                  principal: Principal = Depends(officer)) -> Response:
    """The form to add a user to the organisation."""
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        return _page(request, conn, principal, org, "users", "admin/user_new.html",
                     values={"role": "viewer"}, roles=ROLES)


@router.post("/admin/{slug}/users/new")
def add_user(request: Request, slug: str, form: FormData = Depends(checked_form),
             principal: Principal = Depends(officer)) -> Response:
    """Create the account with its role here, or show the form again with what to fix."""
    values = {name: _text(form, name) for name in USER_FIELDS}
    values["password"] = str(form.get("password") or "")  # spaces are part of a password
    errors: dict[str, str] = {}
    if not values["username"]:
        errors["username"] = "Enter a username, like j.smith"
    if values["email"] and "@" not in values["email"]:
        errors["email"] = "Enter an email address in the correct format, like name@example.org"
    if len(values["password"]) < 8:
        errors["password"] = "Enter a password of at least 8 characters"
    if values["role"] not in ROLES:
        errors["role"] = "Choose what the user may do: admin, editor or viewer"
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)

    def add(conn: Connection) -> None:
        user = service.create_user(conn, values["username"], password=values["password"],
                                   display_name=values["display_name"],
                                   email=values["email"] or None, actor=principal)
        service.grant_role(conn, user, org["id"], values["role"], actor=principal)

    if not errors:
        _, refused = _write(request, add)
        if refused:
            errors["password" if "password" in refused else "username"] = refused
    if errors:
        with request.app.state.database.connect() as conn:
            return _page(request, conn, principal, org, "users", "admin/user_new.html",
                         status_code=400, errors=errors, roles=ROLES,
                         values={**values, "password": ""})
    _flash(request, f"{values['username']} added as {values['role']}. They can sign in now.")
    return _back(org, "users")


def _member(conn: Connection, org: dict[str, Any], user_id: int) -> dict[str, Any]:
    """A member of the organisation by id (404 for anyone else)."""
    member = next((m for m in service.list_users(conn, org["id"]) if m["id"] == user_id), None)
    if member is None:
        raise NotFound(f"user {user_id} is not a member of {org['name']}")
    return member


@router.post("/admin/{slug}/users/{user_id:int}/role")
def change_role(request: Request, slug: str, user_id: int,
                form: FormData = Depends(checked_form),
                principal: Principal = Depends(officer)) -> Response:
    """Give a member another role here (the last admin keeps theirs)."""
    role = _text(form, "role")
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        member = _member(conn, org, user_id)

    def grant(conn: Connection) -> None:
        if role != "admin" and member["roles"].get(org["slug"]) == "admin":
            service.require_other_admin(conn, org["id"], user_id)
        service.grant_role(conn, user_id, org["id"], role, actor=principal)

    error = (f"Choose the role of {member['username']}: admin, editor or viewer"
             if role not in ROLES else _write(request, grant)[1])
    if error:
        with request.app.state.database.connect() as conn:
            return _users_page(request, conn, principal, org, status_code=400,
                               errors={f"role-{user_id}": error})
    _flash(request, f"{member['username']} is now {role} of {org['name']}.")
    return _back(org, "users")


@router.post("/admin/{slug}/users/{user_id:int}/active")
def set_active(request: Request, slug: str, user_id: int,
               form: FormData = Depends(checked_form),
               principal: Principal = Depends(officer)) -> Response:
    """Disable a member's account (signed out at once, tokens refused) or enable it again."""
    wanted = _text(form, "active")
    if wanted not in ("true", "false"):
        raise BadRequest("active: send true to enable the account or false to disable it")
    active = wanted == "true"
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        member = _member(conn, org, user_id)
        roles = service.roles_of(conn, user_id)

    def switch(conn: Connection) -> None:
        if not active and roles.get(org["id"]) == "admin":
            service.require_other_admin(conn, org["id"], user_id)
        service.set_user_active(conn, user_id, active, actor=principal)

    error = None
    if not service.manages_account(principal, roles):
        error = (f"{member['username']} also belongs to another organisation: ask its "
                 "admins, or change their role here")
    elif user_id == principal.user_id and not active:
        error = "You cannot disable your own account: ask another admin"
    else:
        error = _write(request, switch)[1]
    if error:
        with request.app.state.database.connect() as conn:
            return _users_page(request, conn, principal, org, status_code=403,
                               errors={f"active-{user_id}": error})
    _flash(request, f"{member['username']}'s account is {'enabled' if active else 'disabled'}.")
    return _back(org, "users")


# --- API tokens ----------------------------------------------------------------------------

def _tokens_page(request: Request, conn: Connection, principal: Principal,
                 org: dict[str, Any], **context: Any) -> Response:
    members = [m for m in service.list_users(conn, org["id"])
               if m["active"] and service.manages_account(principal,
                                                          service.roles_of(conn, m["id"]))]
    return _page(request, conn, principal, org, "tokens", "admin/tokens.html",
                 tokens=service.list_tokens(conn, org["id"]), members=members, **context)


@router.get("/admin/{slug}/tokens")
def tokens_page(request: Request, slug: str,
                principal: Principal = Depends(officer)) -> Response:
    """The API tokens of the organisation's members, the form to create one, the trail."""
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        return _tokens_page(request, conn, principal, org, values={})


@router.post("/admin/{slug}/tokens")
def create_token(request: Request, slug: str, form: FormData = Depends(checked_form),
                 principal: Principal = Depends(officer)) -> Response:
    """Create a token for a member and show it once."""
    values = {"user": _text(form, "user"), "name": _text(form, "name")}
    database = request.app.state.database
    with database.begin() as conn:
        org = _organisation(conn, slug, principal)
        errors: dict[str, str] = {}
        members = {str(m["id"]): m for m in service.list_users(conn, org["id"])}
        member = members.get(values["user"])
        if member is None:
            errors["user"] = "Choose whose token it is"
        elif not service.manages_account(principal, service.roles_of(conn, member["id"])):
            errors["user"] = (f"{member['username']} also belongs to another organisation: "
                              "only an admin of all of them may give them a token")
        if not values["name"]:
            errors["name"] = "Enter what the token is for, like Gully sensor import"
        elif len(values["name"]) > 200:
            errors["name"] = "Enter at most 200 characters"
        if errors or member is None:
            return _tokens_page(request, conn, principal, org, status_code=400, errors=errors,
                                values=values)
        token = service.create_token(conn, member["id"], values["name"], actor=principal)
        return _page(request, conn, principal, org, "tokens", "admin/secret.html",
                     headers=NO_STORE, secret=token, kind="token",
                     what=f"API token ‘{values['name']}’ for {member['username']}")


@router.post("/admin/{slug}/tokens/{prefix}/revoke")
def revoke_token(request: Request, slug: str, prefix: str,
                 _: FormData = Depends(checked_form),
                 principal: Principal = Depends(officer)) -> Response:
    """Revoke a member's token: it opens nothing from now on."""
    with request.app.state.database.begin() as conn:
        org = _organisation(conn, slug, principal)
        if not service.revoke_token(conn, prefix, actor=principal, members_of=org["id"]):
            raise NotFound(f"no live token {prefix!r} of a member of {org['name']}")
    _flash(request, f"Token {prefix} revoked.")
    return _back(org, "tokens")


# --- webhook integrations ------------------------------------------------------------------

def _integrations_page(request: Request, conn: Connection, principal: Principal,
                       org: dict[str, Any], **context: Any) -> Response:
    return _page(request, conn, principal, org, "integrations", "admin/integrations.html",
                 integrations=list_integrations(conn, [org["id"]]), networks=NETWORK_LABELS,
                 **context)


@router.get("/admin/{slug}/integrations")
def integrations_page(request: Request, slug: str,
                      principal: Principal = Depends(officer)) -> Response:
    """The organisation's webhook integrations (never their secrets), the form to add one."""
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        return _integrations_page(request, conn, principal, org, values={"network": "tts"})


@router.post("/admin/{slug}/integrations")
def add_integration(request: Request, slug: str, form: FormData = Depends(checked_form),
                    principal: Principal = Depends(officer)) -> Response:
    """Create an integration and show its secret once."""
    values = {name: _text(form, name) for name in ("name", "network", "username")}
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "Enter a name for the integration, like rutland-tts"
    if values["network"] not in NETWORK_CHOICES:
        errors["network"] = "Choose the network server that sends the uplinks"
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
    secret = None
    if not errors:
        secret, refused = _write(request, lambda conn: create_integration(
            conn, values["name"], values["network"], values["username"] or None,
            organisation_id=org["id"], actor=principal))
        if refused:
            errors["username" if "Basic auth user" in refused else "name"] = refused
    with request.app.state.database.connect() as conn:
        if errors or secret is None:
            return _integrations_page(request, conn, principal, org, status_code=400,
                                      errors=errors, values=values)
        refresh_credentials(request.app)
        return _secret_page(request, conn, principal, org, values["name"], secret,
                            values["username"] or None)


def _secret_page(request: Request, conn: Connection, principal: Principal, org: dict[str, Any],
                 name: str, secret: str, username: str | None) -> Response:
    return _page(request, conn, principal, org, "integrations", "admin/secret.html",
                 headers=NO_STORE, secret=secret, kind="integration", username=username,
                 what=f"Webhook secret of the integration ‘{name}’")


@router.post("/admin/{slug}/integrations/{name}/rotate")
def rotate(request: Request, slug: str, name: str, _: FormData = Depends(checked_form),
           principal: Principal = Depends(officer)) -> Response:
    """A new secret for the integration, shown once; the old one stops working now."""
    with request.app.state.database.begin() as conn:
        org = _organisation(conn, slug, principal)
        secret = rotate_integration(conn, name, [org["id"]], actor=principal)
        username = next((i["username"] for i in list_integrations(conn, [org["id"]])
                         if i["name"] == name), None)
        response = _secret_page(request, conn, principal, org, name, secret, username)
    refresh_credentials(request.app)
    return response


@router.post("/admin/{slug}/integrations/{name}/revoke")
def revoke(request: Request, slug: str, name: str, _: FormData = Depends(checked_form),
           principal: Principal = Depends(officer)) -> Response:
    """Revoke the integration: its secret opens nothing any more (the record stays)."""
    with request.app.state.database.begin() as conn:
        org = _organisation(conn, slug, principal)
        revoke_integration(conn, name, [org["id"]], actor=principal)
    refresh_credentials(request.app)
    _flash(request, f"Integration {name} revoked: its secret opens nothing any more.")
    return _back(org, "integrations")


# --- alert rules ---------------------------------------------------------------------------

RULE_FIELDS = ("name", "key", "asset_type", "kind", "quantity", "params", "severity",
               "hold_off_s")


def _reload_rules(request: Request) -> None:
    alert_service = getattr(request.app.state, "alert_service", None)
    if alert_service is not None:
        alert_service.engine.reload()


def _overridden_things(conn: Connection, org: dict[str, Any],
                       rules: list[store.Rule]) -> dict[int, str]:
    """Names of the organisation's assets that override a rule, by id."""
    ids = sorted({r.thing_id for r in rules if r.thing_id is not None})
    return {int(r.id): str(r.name) for r in conn.execute(
        select(things.c.id, things.c.name).where(things.c.organisation_id == org["id"],
                                                 things.c.id.in_(ids or [-1])))}


def _rule_of(conn: Connection, org: dict[str, Any], rule_id: int) -> store.Rule:
    """A rule this organisation's admins manage: one per asset type, or an override on one of
    its own assets (404 for another organisation's)."""
    rule = store.get_rule(conn, rule_id)
    if rule.thing_id is not None and conn.execute(select(things.c.organisation_id).where(
            things.c.id == rule.thing_id)).scalar() != org["id"]:
        raise NotFound(f"no alert rule {rule_id} of {org['name']}")
    return rule


@router.get("/admin/{slug}/alert-rules")
def rules_page(request: Request, slug: str, principal: Principal = Depends(officer)) -> Response:
    """Rules per asset type (shared by every organisation) and this organisation's overrides
    for single assets, with the trail of rule changes."""
    with request.app.state.database.begin() as conn:
        org = _organisation(conn, slug, principal)
        store.ensure_default_rules(conn, _now())
        rules = store.load_rules(conn)
        own = _overridden_things(conn, org, rules)
        return _page(request, conn, principal, org, "alert-rules", "admin/rules.html",
                     type_rules=[r for r in rules if r.thing_id is None],
                     overrides=[r for r in rules if r.thing_id in own], thing_names=own,
                     asset_types=ASSET_TYPES)


def _rule_form(request: Request, conn: Connection, principal: Principal, org: dict[str, Any],
               values: dict[str, Any], rule: store.Rule | None = None, *,
               status_code: int = 200, errors: dict[str, str] | None = None) -> Response:
    return _page(request, conn, principal, org, "alert-rules", "admin/rule_form.html",
                 status_code=status_code, errors=errors, values=values, rule=rule,
                 kinds=sorted(KINDS), severities=list(SEVERITY_ORDER), asset_types=ASSET_TYPES)


def _rule_values(form: FormData) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """The form's text, the problems found, and the parsed parameters and hold-off."""
    values = {name: _text(form, name) for name in RULE_FIELDS}
    values["enabled"] = _text(form, "enabled") or "true"
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {"params": {}, "hold_off_s": 0}
    try:
        params = json.loads(values["params"] or "{}")
        if not isinstance(params, dict):
            raise ValueError("not an object")
        parsed["params"] = params
    except ValueError:
        errors["params"] = 'Enter the parameters as JSON between braces, like {"value": 0.9}'
    if values["hold_off_s"]:
        if values["hold_off_s"].isdigit() and len(values["hold_off_s"]) <= 9:
            parsed["hold_off_s"] = int(values["hold_off_s"])
        else:
            errors["hold_off_s"] = "Enter the hold-off as a whole number of seconds, like 600"
    if values["severity"] not in SEVERITY_ORDER:
        errors["severity"] = "Choose a severity: info, warning or critical"
    return values, errors, parsed


def _rule_error(message: str) -> dict[str, str]:
    """A domain refusal placed on the field it is about."""
    text = message.lower()
    field = next((f for f, words in (("quantity", ("quantity",)), ("kind", ("kind",)),
                                     ("hold_off_s", ("hold_off",)), ("severity", ("severity",)),
                                     ("asset_type", ("asset_type",)))
                  if any(w in text for w in words)), "params")
    return {field: message}


@router.get("/admin/{slug}/alert-rules/new")
def new_rule_form(request: Request, slug: str,
                  principal: Principal = Depends(officer)) -> Response:
    """The form to add a rule for every asset of a type."""
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        return _rule_form(request, conn, principal, org,
                          {"severity": "warning", "params": "{}", "hold_off_s": "0"})


@router.post("/admin/{slug}/alert-rules/new")
def add_rule(request: Request, slug: str, form: FormData = Depends(checked_form),
             principal: Principal = Depends(officer)) -> Response:
    """Add the rule (checked by the alerts concern), or show the form with what to fix."""
    values, errors, parsed = _rule_values(form)
    for name, text in (("name", "Enter a name, like Bin nearly full"),
                       ("key", "Enter a key of lower-case words joined by _, like nearly_full")):
        if not values[name]:
            errors[name] = text
    if values["asset_type"] not in ASSET_TYPES:
        errors["asset_type"] = "Choose the kind of asset the rule watches"
    if values["kind"] not in KINDS:
        errors["kind"] = "Choose how the rule judges readings"
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
    rule_id = None
    if not errors:
        rule_id, refused = _write(request, lambda conn: store.create_rule(
            conn, _now(), key=values["key"], name=values["name"], kind=values["kind"],
            params=parsed["params"], asset_type=values["asset_type"],
            quantity=values["quantity"] or None, severity=values["severity"],
            hold_off_s=parsed["hold_off_s"], actor=principal))
        if refused:
            errors = _rule_error(refused)
    if errors:
        with request.app.state.database.connect() as conn:
            return _rule_form(request, conn, principal, org, values, status_code=400,
                              errors=errors)
    _reload_rules(request)
    _flash(request, f"Rule {values['name']} added (rule {rule_id}).")
    return _back(org, "alert-rules")


@router.get("/admin/{slug}/alert-rules/{rule_id:int}")
def edit_rule_form(request: Request, slug: str, rule_id: int,
                   principal: Principal = Depends(officer)) -> Response:
    """The form to change a rule's name, parameters, severity and hold-off."""
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        rule = _rule_of(conn, org, rule_id)
        values = {"name": rule.name, "params": json.dumps(rule.params, indent=1),
                  "severity": rule.severity, "hold_off_s": str(rule.hold_off_s)}
        return _rule_form(request, conn, principal, org, values, rule)


@router.post("/admin/{slug}/alert-rules/{rule_id:int}")
def edit_rule(request: Request, slug: str, rule_id: int, form: FormData = Depends(checked_form),
              principal: Principal = Depends(officer)) -> Response:
    """Change the rule (parameters are merged into its own), or show what to fix."""
    values, errors, parsed = _rule_values(form)
    if not values["name"]:
        errors["name"] = "Enter a name, like Bin nearly full"
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        rule = _rule_of(conn, org, rule_id)
    if not errors:
        _, refused = _write(request, lambda conn: store.update_rule(
            conn, _now(), rule_id, name=values["name"], params=parsed["params"],
            severity=values["severity"], hold_off_s=parsed["hold_off_s"], actor=principal))
        if refused:
            errors = _rule_error(refused)
    if errors:
        with request.app.state.database.connect() as conn:
            return _rule_form(request, conn, principal, org, values, rule, status_code=400,
                              errors=errors)
    _reload_rules(request)
    _flash(request, f"Rule {values['name']} changed.")
    return _back(org, "alert-rules")


@router.post("/admin/{slug}/alert-rules/{rule_id:int}/enabled")
def enable_rule(request: Request, slug: str, rule_id: int,
                form: FormData = Depends(checked_form),
                principal: Principal = Depends(officer)) -> Response:
    """Turn a rule off (no new alerts from it) or on again."""
    wanted = _text(form, "enabled")
    if wanted not in ("true", "false"):
        raise BadRequest("enabled: send true to turn the rule on or false to turn it off")
    with request.app.state.database.begin() as conn:
        org = _organisation(conn, slug, principal)
        rule = _rule_of(conn, org, rule_id)
        store.update_rule(conn, _now(), rule_id, enabled=wanted == "true", actor=principal)
    _reload_rules(request)
    _flash(request, f"Rule {rule.name} turned {'on' if wanted == 'true' else 'off'}.")
    return _back(org, "alert-rules")


# --- alert teams and subscriptions ---------------------------------------------------------

TEAM_FIELDS = ("name", "email", "webhook_url", "webhook_secret", "daily_digest")


def _teams_page(request: Request, conn: Connection, principal: Principal, org: dict[str, Any],
                **context: Any) -> Response:
    return _page(request, conn, principal, org, "alert-teams", "admin/teams.html",
                 teams=notify.list_teams(conn, [org["id"]]), asset_types=ASSET_TYPES,
                 **context)


@router.get("/admin/{slug}/alert-teams")
def teams_page(request: Request, slug: str, principal: Principal = Depends(officer)) -> Response:
    """The organisation's alert teams with their subscriptions, and the form to add a team."""
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        return _teams_page(request, conn, principal, org, values={"daily_digest": "true"})


@router.post("/admin/{slug}/alert-teams")
def add_team(request: Request, slug: str, form: FormData = Depends(checked_form),
             principal: Principal = Depends(officer)) -> Response:
    """Add a team (e-mail and/or signed webhook), or show the form with what to fix."""
    values = {name: _text(form, name) for name in TEAM_FIELDS}
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "Enter the team's name, like Oakham street cleansing"
    if not values["email"] and not values["webhook_url"]:
        errors["email"] = "Enter an email address or a webhook URL (or both)"
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
    if not errors:
        _, refused = _write(request, lambda conn: notify.create_team(
            conn, _now(), organisation_id=org["id"], name=values["name"],
            email=values["email"] or None, webhook_url=values["webhook_url"] or None,
            webhook_secret=values["webhook_secret"] or None,
            daily_digest=values["daily_digest"] == "true", actor=principal))
        if refused:
            text = refused.lower()
            errors["webhook_secret" if "secret" in text else "webhook_url" if "webhook" in text
                   else "email" if "mail" in text else "name"] = refused
    if errors:
        with request.app.state.database.connect() as conn:
            return _teams_page(request, conn, principal, org, status_code=400, errors=errors,
                               values={**values, "webhook_secret": ""})
    _flash(request, f"Team {values['name']} added: subscribe it to the alerts it should hear of.")
    return _back(org, "alert-teams")


def _team_of(conn: Connection, org: dict[str, Any], team_id: int) -> dict[str, Any]:
    team = next((t for t in notify.list_teams(conn, [org["id"]]) if t["id"] == team_id), None)
    if team is None:
        raise NotFound(f"no alert team {team_id} in {org['name']}")
    return team


def _subscription_form(request: Request, conn: Connection, principal: Principal,
                       org: dict[str, Any], team: dict[str, Any], values: dict[str, Any],
                       subscription: int | None = None, *, status_code: int = 200,
                       errors: dict[str, str] | None = None) -> Response:
    rule_keys = sorted({r.key for r in store.load_rules(conn)})
    return _page(request, conn, principal, org, "alert-teams", "admin/subscription_form.html",
                 status_code=status_code, errors=errors, team=team, values=values,
                 subscription=subscription, rule_keys=rule_keys, asset_types=ASSET_TYPES,
                 severities=list(SEVERITY_ORDER))


def _subscription_values(form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {
        "channels": [str(c) for c in form.getlist("channels")],
        "rule_keys": [str(k) for k in form.getlist("rule_keys")],
        "asset_types": [str(t) for t in form.getlist("asset_types")],
        "min_severity": _text(form, "min_severity"), "immediate": _text(form, "immediate"),
    }
    errors: dict[str, str] = {}
    if not values["channels"]:
        errors["channels"] = "Choose how the team hears: email, webhook or both"
    if values["min_severity"] not in SEVERITY_ORDER:
        errors["min_severity"] = "Choose the least severe alerts the team hears of"
    if values["immediate"] not in ("true", "false"):
        errors["immediate"] = "Choose when the team hears: at once or in the daily digest"
    return values, errors


def _subscription_change(request: Request, slug: str, form: FormData, principal: Principal,
                         team_id: int | None, subscription: int | None,
                         write: Callable[[Connection, dict[str, Any]], Any]) -> Response:
    """Check the subscription form and ``write`` it, or show it again with what to fix."""
    values, errors = _subscription_values(form)
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        if subscription is not None:
            team_id = int(notify.subscription_team(conn, subscription)["id"])
        assert team_id is not None
        team = _team_of(conn, org, team_id)
    if not errors:
        _, refused = _write(request, lambda conn: write(
            conn, {**values, "immediate": values["immediate"] == "true"}))
        if refused:
            errors["min_severity" if "severity" in refused else "channels"] = refused
    if errors:
        with request.app.state.database.connect() as conn:
            return _subscription_form(request, conn, principal, org, team, values, subscription,
                                      status_code=400, errors=errors)
    _flash(request, f"Subscription of {team['name']} saved.")
    return _back(org, "alert-teams")


@router.get("/admin/{slug}/alert-teams/{team_id:int}/subscriptions/new")
def new_subscription_form(request: Request, slug: str, team_id: int,
                          principal: Principal = Depends(officer)) -> Response:
    """The form to subscribe a team to alerts."""
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        team = _team_of(conn, org, team_id)
        channels = [c for c, on in (("email", team["email"]), ("webhook", team["webhook_url"]))
                    if on]
        return _subscription_form(request, conn, principal, org, team, {
            "channels": channels, "min_severity": "warning", "immediate": "true"})


@router.post("/admin/{slug}/alert-teams/{team_id:int}/subscriptions/new")
def add_subscription(request: Request, slug: str, team_id: int,
                     form: FormData = Depends(checked_form),
                     principal: Principal = Depends(officer)) -> Response:
    """Subscribe the team (checked by the alerts concern)."""
    return _subscription_change(
        request, slug, form, principal, team_id, None,
        lambda conn, v: notify.subscribe(conn, team_id, actor=principal, **v))


@router.get("/admin/{slug}/alert-subscriptions/{subscription:int}")
def edit_subscription_form(request: Request, slug: str, subscription: int,
                           principal: Principal = Depends(officer)) -> Response:
    """The form to change what a subscription tells its team about."""
    with request.app.state.database.connect() as conn:
        org = _organisation(conn, slug, principal)
        team = _team_of(conn, org, int(notify.subscription_team(conn, subscription)["id"]))
        current = next(s for s in team["subscriptions"] if s["id"] == subscription)
        values = {"channels": current["channels"], "rule_keys": current["rule_keys"] or [],
                  "asset_types": current["asset_types"] or [],
                  "min_severity": current["min_severity"],
                  "immediate": "true" if current["immediate"] else "false"}
        return _subscription_form(request, conn, principal, org, team, values, subscription)


@router.post("/admin/{slug}/alert-subscriptions/{subscription:int}")
def edit_subscription(request: Request, slug: str, subscription: int,
                      form: FormData = Depends(checked_form),
                      principal: Principal = Depends(officer)) -> Response:
    """Change the subscription (checked as a new one is)."""
    return _subscription_change(
        request, slug, form, principal, None, subscription,
        lambda conn, v: notify.update_subscription(conn, subscription, actor=principal, **v))


@router.post("/admin/{slug}/alert-subscriptions/{subscription:int}/delete")
def remove_subscription(request: Request, slug: str, subscription: int,
                        _: FormData = Depends(checked_form),
                        principal: Principal = Depends(officer)) -> Response:
    """End the subscription: the team hears no more of those alerts."""
    with request.app.state.database.begin() as conn:
        org = _organisation(conn, slug, principal)
        team = _team_of(conn, org, int(notify.subscription_team(conn, subscription)["id"]))
        notify.unsubscribe(conn, subscription, actor=principal)
    _flash(request, f"Subscription of {team['name']} ended.")
    return _back(org, "alert-teams")
