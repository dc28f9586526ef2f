"""The ``branchq`` command: serve, migrate, add users and devices.

Every option can also come from a ``BRANCHQ_*`` environment variable
(``BRANCHQ_DATABASE``, ``BRANCHQ_HOST``, ``BRANCHQ_PORT``, …); the command line wins.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import getpass
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.domain.errors import BranchqError

if TYPE_CHECKING:
    from server.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    from server.settings import Settings

    overrides: dict[str, Any] = {
        k: v
        for k, v in {
            "database": getattr(args, "database", None),
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
            "demo": True if getattr(args, "demo", False) else None,
        }.items()
        if v is not None
    }
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as e:
        problems = "; ".join(
            f"BRANCHQ_{'_'.join(str(p) for p in item['loc']).upper()}: {item['msg'].removeprefix('Value error, ')}"
            for item in e.errors()
        )
        raise BranchqError(f"the settings are not valid: {problems}") from None


def _ensure_sqlite_dir(url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


async def _prepare(settings: Settings, *, migrate: bool, history_weeks: int = 0) -> None:
    from server.services.context import Services
    from server.services.demo import seed_demo
    from server.store.engine import open_database
    from server.store.migrate import upgrade

    _ensure_sqlite_dir(settings.database)
    if migrate:
        await upgrade(settings.database)
    if settings.demo:
        db = open_database(settings.database)
        try:
            created = await seed_demo(Services(db))
            if created and history_weeks:  # the past first, so the numbers of events follow time
                from server.services.history import generate_history

                n = await generate_history(Services(db), "demo", weeks=history_weeks)
                print(f"demo history: {n} tickets over the last {history_weeks} weeks")
            if created:
                from server.app import vault_of
                from server.services.complaints import seed_demo_complaints

                await seed_demo_complaints(Services(db, vault=vault_of(settings)))
                from server.services.demo_supervision import seed_demo_supervision

                await seed_demo_supervision(Services(db))  # a past drill, an inspection with an open notice
        finally:
            await db.dispose()


def serve(args: argparse.Namespace) -> None:
    from aiohttp import web

    from server.app import create_app
    from server.logs import AccessLogger  # the access log, paths redacted

    settings = _settings(args)
    if settings.database.startswith("postgresql") and not settings.secret_key and not settings.demo:
        # A PostgreSQL deployment runs several processes: each would make a key of its own,
        # and a cookie signed in on one would mean nothing to the others.
        raise BranchqError(
            "on PostgreSQL every process needs the same BRANCHQ_SECRET_KEY; make one with `branchq secret` "
            "and put it in the environment of all of them"
        )
    asyncio.run(
        _prepare(settings, migrate=settings.demo or args.migrate, history_weeks=args.history_weeks)
    )
    from sqlalchemy.engine import make_url

    base = f"http://{settings.host}:{settings.port}"
    print(f"branchq serving on {base}  (database: {make_url(settings.database).render_as_string()})")
    print(f"  health:        {base}/api/v1/health")
    print(f"  HTTP API:      {base}/api/v1/openapi.json")
    if settings.demo:
        from server.services.demo import DEMO_PASSWORD, DEMO_TOKENS

        print(f"  kiosk:         {base}/kiosk/demo?token={DEMO_TOKENS['kiosk']}")
        print(f"  display board: {base}/display/demo?token={DEMO_TOKENS['display']}")
        print(f"  counter-top:   {base}/display/demo/counter/3?token={DEMO_TOKENS['display']}")
        print(f"  evaluator:     {base}/evaluator/demo/5?token={DEMO_TOKENS['evaluator']}")
        print(f"  teller:        {base}/counter   (teller1 … teller6)")
        print(f"  dashboard:     {base}/manage/demo   reports: {base}/manage/demo/reports   (manager)")
        print(f"  lobby console: {base}/lobby/demo   (manager)   my sessions: {base}/account")
        print(f"  administration: {base}/admin   (admin; a manager: own branch's hours, profiles, devices)")
        print(f"  demo branch:   {base}/api/v1/branches/demo/services")
        print(f"  staff:         admin, manager, teller1 … teller6 (password {DEMO_PASSWORD})")
        print(f"  device tokens: {', '.join(f'{k}={v}' for k, v in DEMO_TOKENS.items())}")
    sys.stdout.flush()
    web.run_app(
        create_app(settings), host=settings.host, port=settings.port, print=None,
        access_log_class=AccessLogger, shutdown_timeout=5, loop=_event_loop(settings),
    )


def _event_loop(settings: Settings) -> asyncio.AbstractEventLoop:
    """uvloop when installed and not turned off: measured ~1/4 more requests per second."""
    if settings.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:  # not on this platform (Windows): asyncio's loop serves as well
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def db_upgrade(args: argparse.Namespace) -> None:
    from server.store.migrate import upgrade

    settings = _settings(args)
    _ensure_sqlite_dir(settings.database)
    asyncio.run(upgrade(settings.database))
    print("database is up to date")


async def _with_services(settings: Settings, work):
    from server.app import vault_of
    from server.services.context import Services
    from server.store.engine import open_database

    db = open_database(settings.database)
    try:
        return await work(Services(db, vault=vault_of(settings)))
    finally:
        await db.dispose()


def user_add(args: argparse.Namespace) -> None:
    from server.services import auth

    password = args.password or getpass.getpass(f"password for {args.username}: ")
    try:
        counters = [int(c) for c in args.counters.split(",")] if args.counters else []
    except ValueError:
        print("branchq: --counters is a list of counter numbers, e.g. 2,3", file=sys.stderr)
        sys.exit(2)
    regional = [b.strip() for b in args.branches.split(",") if b.strip()] if args.branches else []
    body = _staff_in(username=args.username, password=password, role=args.role, branch=args.branch,
                     counters=counters, branches=regional)
    asyncio.run(
        _with_services(
            _settings(args),
            lambda app: auth.add_staff(
                app, username=body.username, password=body.password, role=body.role,
                branch_id=body.branch, counters=body.counters, branches=body.branches,
            ),
        )
    )
    print(f"added {args.role} {args.username}")


def _staff_in(**fields: Any) -> Any:
    """The account as the API would take it (username letters, digits ``. _ -``; password 8+),
    or exit with what is wrong."""
    from pydantic import ValidationError

    from server.protocol import StaffIn

    try:
        return StaffIn.model_validate(fields)
    except ValidationError as e:
        for error in e.errors():
            field = ".".join(str(part) for part in error["loc"])
            hint = USER_FIELD_HINTS.get(field, error["msg"])
            print(f"branchq: {field}: {hint}", file=sys.stderr)
        sys.exit(2)


USER_FIELD_HINTS = {
    "username": "1–64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    "password": "at least 8 characters (at most 256)",
}


def retention_run(args: argparse.Namespace) -> None:
    from server.services.retention import erase_expired

    settings = _settings(args)
    days = args.days if args.days is not None else settings.retention_days
    erased = asyncio.run(_with_services(settings, lambda app: erase_expired(app, days=days, full=True)))
    print(f"records before {erased.before.isoformat()} ({days} days): erased {erased.green_reasons} "
          f"green-channel reason(s), {erased.comments} comment(s), sensitive fields of {erased.events} event(s), "
          f"{erased.notify_wishes} notification wish(es), {erased.notify_contacts} undelivered notification contact(s)")
    from server.services.complaints import erase_contacts

    contact_days = settings.complaint_retention_days
    contacts = asyncio.run(_with_services(settings, lambda app: erase_contacts(app, days=contact_days)))
    print(f"complaint cases ended over {contact_days} days ago: erased {contacts} contact(s)")


def complaints_rekey(args: argparse.Namespace) -> None:
    from server.services.complaints import rekey

    done = asyncio.run(_with_services(_settings(args), rekey))
    print(f"re-encrypted {done} complaint contact(s) under the first of BRANCHQ_DATA_KEYS")


def device_add(args: argparse.Namespace) -> None:
    from server.services import auth

    token = asyncio.run(
        _with_services(
            _settings(args),
            lambda app: auth.add_device(app, branch_id=args.branch, kind=args.kind, name=args.name),
        )
    )
    print("device token (shown once; keep it on the device):")
    print(token)


def config_apply(args: argparse.Namespace) -> None:
    from server.domain.errors import InvalidConfig
    from server.services import branches

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        print(f"branchq: {args.file} is not UTF-8 text", file=sys.stderr)
        sys.exit(2)
    try:
        spec = branches.load_yaml(text)
    except InvalidConfig as e:
        print(f"{args.file}: {len(e.problems)} problem(s); nothing applied", file=sys.stderr)
        for path, message in e.problems:
            print(f"  {path or '(document)'}: {message}", file=sys.stderr)
        sys.exit(2)
    changes = asyncio.run(
        _with_services(_settings(args), lambda app: branches.apply_config(app, spec, dry_run=args.dry_run))
    )
    if not changes:
        print(f"branch {spec.id}: already as the file says; nothing to change")
        return
    print(f"branch {spec.id}: {len(changes)} change(s)" + (" (dry run: nothing applied)" if args.dry_run else ""))
    for change in changes:
        print(f"  {change}")
    if not args.dry_run:
        print("applied")


def config_export(args: argparse.Namespace) -> None:
    from server.services import branches

    spec = asyncio.run(_with_services(_settings(args), lambda app: branches.export_config(app, args.branch)))
    text = branches.dump_yaml(spec)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)


REPORT_TABLE = (  # column, title, width, format
    ("issued", "issued", 6, "{}"), ("served", "served", 6, "{}"), ("no_show", "no-show", 7, "{}"),
    ("wait_avg_s", "wait avg", 8, "{:.0f}s"), ("wait_p90_s", "wait p90", 8, "{:.0f}s"),
    ("service_avg_s", "svc avg", 7, "{:.0f}s"), ("sla_share", "SLA", 5, "{:.0%}"),
    ("rating_mean", "rating", 6, "{:.2f}"), ("utilisation", "util", 5, "{:.0%}"),
)


def _cell(value, width: int, fmt: str) -> str:
    return ("—" if value is None else fmt.format(value)).rjust(width)


STATS_TABLE = (  # column, title, width, format
    ("received", "received", 8, "{}"), ("closed", "closed", 6, "{}"), ("on_time_rate", "on time", 7, "{:.0%}"),
    ("avg_days", "avg d", 6, "{:.1f}"), ("p90_days", "p90 d", 6, "{:.1f}"), ("overdue_now", "overdue", 7, "{}"),
    ("upheld_rate", "upheld", 6, "{:.0%}"), ("second_round_rate", "2nd rd", 6, "{:.0%}"),
    ("escalation_rate", "escal.", 6, "{:.0%}"), ("satisfaction_rate", "satisf.", 7, "{:.0%}"),
    ("repeat_complainants", "repeat", 6, "{}"),
)


def report_complaints(args: argparse.Namespace) -> None:
    from server.reports import complaints as files
    from server.services import complaint_stats
    from server.services.context import Actor

    admin = Actor("staff", 0, "admin", None, (), "cli")
    group = args.group or "period"
    if group not in files.GROUPS:
        print(f"--group for complaints is one of {', '.join(files.GROUPS)}", file=sys.stderr)
        sys.exit(2)
    branches = args.branch.split(",") if args.branch else None
    data = asyncio.run(_with_services(_settings(args), lambda app: complaint_stats.stats(
        app, admin, branches, first=args.first, last=args.last, group=group, period=args.period)))
    if args.format == "csv":
        sys.stdout.write(files.to_csv(data))
        return
    if args.format == "xlsx":
        path = args.output or f"complaints-{data['from']}-{data['to']}.xlsx"
        Path(path).write_bytes(files.to_xlsx(data))
        print(f"wrote {path}")
        return
    print(f"complaints of {', '.join(data['branches'])}  {data['from']} – {data['to']}, by {group}")
    print(f"{group:>10} " + " ".join(title.rjust(w) for _, title, w, _ in STATS_TABLE))
    for row in [*data["rows"], {**data["total"], "key": "total"}]:
        key = "—" if row["key"] is None else str(row["key"])
        print(f"{key:>10} " + " ".join(_cell(row[c], w, f) for c, _, w, f in STATS_TABLE))
    for p in data["weak_points"]:
        print(f"weak point: {p['category']} × {p['service'] or '—'}: {p['upheld']} upheld "
              f"({p['trend']:+d} on the period before)")


def report(args: argparse.Namespace) -> None:
    from server.reports import export
    from server.services import reports
    from server.services.context import Actor

    if args.what == "complaints":
        report_complaints(args)
        return
    if args.branch is None:
        print("--branch is needed", file=sys.stderr)
        sys.exit(2)
    args.group = args.group or "service"
    if args.group not in ("service", "counter", "teller", "hour", "day", "priority"):
        print("--group of the summary is one of service, counter, teller, hour, day, priority", file=sys.stderr)
        sys.exit(2)
    admin = Actor("staff", 0, "admin", None, (), "cli")
    data = asyncio.run(
        _with_services(
            _settings(args),
            lambda app: reports.summary_report(
                app, admin, args.branch, first=args.first, last=args.last, group=args.group
            ),
        )
    )
    if args.format == "csv":
        sys.stdout.write(export.to_csv(data))
        return
    if args.format == "xlsx":
        path = args.output or f"summary-{data['from']}-{data['to']}.xlsx"
        Path(path).write_bytes(export.to_xlsx(data))
        print(f"wrote {path}")
        return
    print(f"branch {data['branch']}  {data['from']} – {data['to']}  ({data['timezone']}), by {args.group}")
    print(f"{args.group:>10} " + " ".join(title.rjust(w) for _, title, w, _ in REPORT_TABLE))
    for row in [*data["rows"], {**data["total"], "key": "total"}]:
        key = "—" if row["key"] is None else str(row["key"])
        print(f"{key:>10} " + " ".join(_cell(row[c], w, f) for c, _, w, f in REPORT_TABLE))


def simulate_days(args: argparse.Namespace) -> None:
    import json
    import time

    from server.simulate import scenario as scenarios
    from server.simulate.run import simulate

    chosen = scenarios.load(args.scenario) if args.scenario else scenarios.parse(scenarios.BUSY_DAY)
    if args.days is not None:
        chosen = scenarios.parse({**chosen.model_dump(by_alias=True, exclude_defaults=True), "days": args.days})
    if args.plan == "advice":
        _simulate_advice(chosen, args)
        return
    from server.simulate.run import load_sources

    sources = asyncio.run(load_sources(chosen, _settings(args).database if chosen.source else None))
    began = time.perf_counter()
    result = asyncio.run(simulate(chosen, seed=args.seed, **sources))
    elapsed = time.perf_counter() - began
    data = result.as_json() | {"elapsed_s": round(elapsed, 2)}
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return
    o, err = result.outcome, result.estimate_error
    print(f"simulated {len(o.days)} day(s) at {o.branch_id}: {o.issued} tickets, {o.use_cases} use cases "
          f"in {elapsed:.1f} s; counter hours {o.counter_hours:.1f}"
          + (f"; refused {o.refused}" if o.refused else ""))
    report = result.report
    print(f"{'service':>10} " + " ".join(title.rjust(w) for _, title, w, _ in REPORT_TABLE))
    for row in [*report["rows"], {**report["total"], "key": "total"}]:
        key = "—" if row["key"] is None else str(row["key"])
        print(f"{key:>10} " + " ".join(_cell(row[c], w, f) for c, _, w, f in REPORT_TABLE))
    print(f"green wait avg {result.green_wait_avg_s:.0f}s, normal {result.normal_wait_avg_s:.0f}s")
    print("estimate at issue against the wait had (good: within ±25% or ±5 min)")
    print(f"{'':>10} {'tickets':>7} {'MAE':>7} {'wait avg':>8} {'MAE/wait':>8} {'bias':>7} {'good':>5}")
    groups = [("total", err["total"]), *((f"svc {k}", v) for k, v in err["by_service"].items()),
              *((f"{k:02d}h", v) for k, v in err["by_hour"].items())]
    for name, f in groups:
        if not f["tickets"]:
            continue
        print(f"{name:>10} {f['tickets']:>7} {f['mae_s']:>6.0f}s {f['mean_wait_s']:>7.0f}s "
              f"{f['mae_ratio'] if f['mae_ratio'] is not None else 0:>8.0%} {f['bias_s']:>6.0f}s "
              f"{f['good_share']:>5.0%}")


def _simulate_advice(chosen: Any, args: argparse.Namespace) -> None:
    """``simulate --plan advice``: the days as planned, then with the counters the staffing advice recommends."""
    import json

    from server.simulate.run import load_sources, simulate_advice

    sources = asyncio.run(load_sources(chosen, _settings(args).database if chosen.source else None))
    run = asyncio.run(simulate_advice(chosen, seed=args.seed, sla=args.sla, **sources))
    data = run.as_json()
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return
    hours = ", ".join(f"{h:02d}h {n}" for h, n in sorted(run.counters_by_hour.items()))
    print(f"staffing advice for {args.sla:.0%} within target: counters by hour {hours}")
    for name in ("planned", "advised"):
        figures = data[name]
        share = figures["sla_share"]
        print(f"{name:>8}: {share if share is not None else 0:.0%} within target with "
              f"{figures['counter_hours']:.1f} counter hours (mean wait {figures['mean_wait_s'] or 0:.0f} s)")
    print(f"simulated: {'met' if data['met'] else 'not met'}: "
          f"{data['advised']['sla_share'] or 0:.0%} within target with these counters")


def simulate_history(args: argparse.Namespace) -> None:
    from server.services.history import generate_history

    n = asyncio.run(
        _with_services(
            _settings(args),
            lambda app: generate_history(
                app, args.branch, weeks=args.weeks, daily_volume=args.daily,
                with_events=not args.no_events,
            ),
        )
    )
    print(f"{n} tickets over {args.weeks} weeks")


def emergency_command(args: argparse.Namespace) -> None:
    """``branchq emergency start|end|status``: the manager's one action, from the command line."""
    from server.protocol import EmergencyIn
    from server.services import emergency
    from server.services.context import Actor

    admin = Actor("staff", 0, "admin", None, (), "command line")
    if args.emergency_command == "start":
        scope = "all" if args.scope == "all" else [c.strip() for c in args.scope.split(",") if c.strip()]
        texts = {k: v for k, v in (("zh-CN", args.text), ("en", args.text_en), ("zh-TW", args.text_zh_tw)) if v}
        body = EmergencyIn.model_validate({"kind": args.kind, "scope": scope, "texts": texts, "drill": args.drill})
        answer = asyncio.run(_with_services(
            _settings(args), lambda app: emergency.start_emergency(app, admin, args.branch, body)))
        print(f"{'drill' if answer.drill else 'emergency'} {answer.id} started in {args.branch}: "
              f"issuing stopped for {answer.scope if isinstance(answer.scope, str) else ', '.join(answer.scope)}")
    elif args.emergency_command == "end":
        answer = asyncio.run(_with_services(
            _settings(args), lambda app: emergency.end_emergency(app, admin, args.branch)))
        print(f"incident {answer.id} ended after {answer.stopped_s // 60} min: issuing resumed")
    else:
        state = asyncio.run(_with_services(
            _settings(args), lambda app: emergency.emergency_state(app, admin, args.branch)))
        if state.active is None:
            print(f"no emergency in {args.branch}")
            return
        a = state.active
        print(f"{'DRILL ' if a.drill else ''}{a.kind} since {a.started_at.isoformat()} "
              f"({a.stopped_s // 60} min): stopped {', '.join(state.stopped_services)}")
        for e in a.timeline:
            print(f"  {e.at.isoformat()}  {e.kind:16} {e.actor}  {e.text}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="branchq", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def db_option(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--database", help="SQLAlchemy URL (env BRANCHQ_DATABASE)")

    s = sub.add_parser("serve", help="run the server")
    s.add_argument("--host", help="bind address (env BRANCHQ_HOST, default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (env BRANCHQ_PORT, default 8080)")
    db_option(s)
    s.add_argument("--demo", action="store_true", help="migrate, seed the demo branch, print URLs")
    s.add_argument("--migrate", action="store_true", help="upgrade the database before serving")
    s.add_argument("--history-weeks", type=int, default=0,
                   help="with --demo: fill a new demo branch with this many weeks of past days")
    s.set_defaults(run=serve)

    # The device programs parse their own options (see DEVICE_PROGRAMS): only named here for --help.
    for name, (_module, text) in DEVICE_PROGRAMS.items():
        sub.add_parser(name, help=text, add_help=False)

    r = sub.add_parser("report", help="the summary report (or `report complaints`: the complaint statistics) "
                                      "in the terminal, or as CSV / XLSX")
    r.add_argument("what", nargs="?", default="summary", choices=["summary", "complaints"])
    r.add_argument("--branch", help="the branch (complaints: comma-separated, default every branch)")
    r.add_argument("--from", dest="first", help="first business day, YYYY-MM-DD (default today; complaints: "
                                                "29 days before --to)")
    r.add_argument("--to", dest="last", help="last business day (default: --from)")
    r.add_argument("--group", help="summary: service (default), counter, teller, hour, day, priority; "
                                   "complaints: period (default), channel, category, service, teller, branch")
    r.add_argument("--period", default="month", choices=["day", "week", "month", "quarter"],
                   help="complaints with --group period: a row per day, week, month or quarter")
    r.add_argument("--format", default="table", choices=["table", "csv", "xlsx"])
    r.add_argument("--output", help="file for xlsx (default summary-FROM-TO.xlsx or complaints-FROM-TO.xlsx)")
    db_option(r)
    r.set_defaults(run=report)

    sim = sub.add_parser("simulate", help="simulate branch days on a virtual clock through the real use cases "
                                          "(or `simulate history`: demo data)")
    sim.add_argument("--scenario", help="YAML scenario file (default: a busy day at the demo branch)")
    sim.add_argument("--seed", type=int, default=1, help="same scenario and seed: the same day")
    sim.add_argument("--days", type=int, help="override the scenario's number of days")
    sim.add_argument("--json", action="store_true", help="the figures as JSON")
    sim.add_argument("--plan", choices=["scenario", "advice"], default="scenario",
                     help="advice: run the days again with the counters the staffing advice recommends, "
                          "and say whether the SLA was met and with how many counter hours")
    sim.add_argument("--sla", type=float, default=0.8, help="the SLA the advice staffs for (default 0.8)")
    db_option(sim)  # where `arrivals: replay` and `service_times: recent` read, unless the scenario says
    sim.set_defaults(run=simulate_days)
    simsub = sim.add_subparsers(dest="simulate_command", required=False)
    hist = simsub.add_parser("history", help="weeks of realistic past days for a branch with no activity")
    hist.add_argument("--branch", required=True)
    hist.add_argument("--weeks", type=int, default=4)
    hist.add_argument("--daily", type=int, default=300, help="customers on an ordinary day")
    hist.add_argument("--no-events", action="store_true", help="tickets only (faster, for benchmarks)")
    db_option(hist)
    hist.set_defaults(run=simulate_history)

    cf = sub.add_parser("config", help="a branch's configuration as a YAML file")
    cfsub = cf.add_subparsers(dest="config_command", required=True)
    ap = cfsub.add_parser("apply", help="validate a file, show its changes, apply them in one transaction")
    ap.add_argument("file", help="YAML file, e.g. deploy/branch.example.yaml")
    ap.add_argument("--dry-run", action="store_true", help="only show what would change")
    db_option(ap)
    ap.set_defaults(run=config_apply)
    ex = cfsub.add_parser("export", help="write a branch's configuration as YAML")
    ex.add_argument("branch")
    ex.add_argument("-o", "--output", help="file to write (default: standard output)")
    db_option(ex)
    ex.set_defaults(run=config_export)

    d = sub.add_parser("db", help="database maintenance")
    dsub = d.add_subparsers(dest="db_command", required=True)
    up = dsub.add_parser("upgrade", help="apply migrations")
    db_option(up)
    up.set_defaults(run=db_upgrade)

    u = sub.add_parser("user", help="staff accounts")
    usub = u.add_subparsers(dest="user_command", required=True)
    ua = usub.add_parser("add", help="add a staff member")
    ua.add_argument("username")
    ua.add_argument("--role", required=True, choices=["teller", "manager", "admin", "inspector"])
    ua.add_argument("--branch", help="branch id (not for admins)")
    ua.add_argument("--counters", help="counter numbers a teller works at, e.g. 2,3")
    ua.add_argument("--branches", help="a regional manager: further branches they oversee, e.g. sh-a,sh-b")
    ua.add_argument("--password", help="omit to be asked")
    db_option(ua)
    ua.set_defaults(run=user_add)

    rt = sub.add_parser("retention", help="erase personal data past its retention period")
    rtsub = rt.add_subparsers(dest="retention_command", required=True)
    rr = rtsub.add_parser("run", help="erase green-channel reasons and comments older than the period "
                                      "(the server also does this daily); counts, waits and scores stay")
    rr.add_argument("--days", type=int, help="the period in days (env BRANCHQ_RETENTION_DAYS, default 90)")
    db_option(rr)
    rr.set_defaults(run=retention_run)

    cp = sub.add_parser("complaints", help="complaint cases: maintenance")
    cpsub = cp.add_subparsers(dest="complaints_command", required=True)
    ck = cpsub.add_parser("rekey", help="re-encrypt every contact under the first of BRANCHQ_DATA_KEYS")
    db_option(ck)
    ck.set_defaults(run=complaints_rekey)

    sec = sub.add_parser("secret", help="print a new BRANCHQ_SECRET_KEY (the same one for every process)")
    sec.set_defaults(run=lambda _args: print(base64.urlsafe_b64encode(os.urandom(32)).decode()))

    dv = sub.add_parser("device", help="kiosks, displays, evaluators")
    dvsub = dv.add_subparsers(dest="device_command", required=True)
    da = dvsub.add_parser("add", help="enroll a device and print its token once")
    da.add_argument("--branch", required=True)
    da.add_argument("--kind", required=True, choices=["kiosk", "display", "evaluator"])
    da.add_argument("--name", required=True)
    db_option(da)
    da.set_defaults(run=device_add)
    em = sub.add_parser("emergency", help="start or end emergency mode (or a drill), or show it")
    emsub = em.add_subparsers(dest="emergency_command", required=True)
    es = emsub.add_parser("start", help="stop issuing for a scope at once, with a message on every screen")
    es.add_argument("--branch", required=True)
    es.add_argument("--kind", required=True, choices=["system_failure", "disaster", "crowd", "other"])
    es.add_argument("--scope", default="all", help='"all" (default) or service codes, e.g. A,B')
    es.add_argument("--text", required=True, help="the message in zh-CN")
    es.add_argument("--text-en", help="the message in English (else the zh-CN one)")
    es.add_argument("--text-zh-tw", help="the message in zh-TW (else the zh-CN one)")
    es.add_argument("--drill", action="store_true", help="a drill: run the same way, kept out of the KPIs")
    for name, text in (("end", "end it: issuing resumes"), ("status", "the incident in force and its timeline")):
        ep = emsub.add_parser(name, help=text)
        ep.add_argument("--branch", required=True)
        db_option(ep)
        ep.set_defaults(run=emergency_command)
    db_option(es)
    es.set_defaults(run=emergency_command)
    return p


#: Subcommands that are device programs: run by their own module, which a device PC has
#: without the server's libraries (``pip install 'branchq[kiosk]'``).
DEVICE_PROGRAMS = {
    "counter": ("counter.cli", "the teller's terminal at a counter (keys, plain screen)"),
    "kiosk-agent": ("kiosk.agent", "print the tickets issued at a kiosk on its ESC/POS printer"),
}


def _database_errors() -> tuple[type[BaseException], ...]:
    """What a database that cannot be used raises (sqlalchemy is not on a device PC)."""
    try:
        from sqlalchemy.exc import DBAPIError
    except ImportError:
        return (OSError,)
    return (DBAPIError, OSError)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in DEVICE_PROGRAMS:
        module = importlib.import_module(DEVICE_PROGRAMS[argv[0]][0])
        module.main(argv[1:], prog=f"branchq {argv[0]}")
        return
    from server.logs import configure_logging

    configure_logging()  # every line with tokens redacted
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except BranchqError as e:
        print(f"branchq: {e.message}", file=sys.stderr)
        sys.exit(2)
    except _database_errors() as e:
        reason = str(getattr(e, "orig", e)).strip().splitlines()[0]
        hint = " (has it been set up with `branchq db upgrade`?)" if "no such table" in reason \
            or "does not exist" in reason else ""
        print(f"branchq: the database cannot be used: {reason}{hint}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
