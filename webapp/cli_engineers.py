"""`aftersales engineers`: the engineers the dispatcher may send (region, skills, 上岗证) and their open load;
`aftersales warranties`: warranty periods by model prefix used by the P7 warranty check."""
from __future__ import annotations

from datetime import date

import click
from sqlalchemy import select

from engine.accounts.directory import Directory
from engine.working_time.calendar import BUSINESS_TZ
from handlers.dispatching import REGIONS, SKILLS, Engineer, open_loads, seed_demo_engineers
from handlers.product_warranties import ProductWarranty, seed_product_warranties
from webapp.cli_errors import fail


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"'{text}' is not a day YYYY-MM-DD") from None


def _skills(text: str) -> list[str]:
    skills = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in skills if s not in SKILLS]
    if unknown or not skills:
        raise click.BadParameter(f"skills are comma-separated codes of {', '.join(SKILLS)}; unknown: {unknown}")
    return skills


@click.group()
def engineers() -> None:
    """Engineers: region, skills, certificate (上岗证) and current open load."""


@engineers.command("list")
@click.pass_obj
def list_engineers(engine) -> None:
    """Every engineer with the certificate's state today and the cases he holds open."""
    today = engine.clock.now().astimezone(BUSINESS_TZ).date()
    with engine.db.sessions() as session:
        loads = {e.username: n for e, n in open_loads(session)}
        rows = list(session.scalars(select(Engineer).order_by(Engineer.region, Engineer.username)))
        if not rows:
            click.echo("no engineers registered")
        for e in rows:
            state = ("inactive" if not e.active else "certified" if e.certified_on(today) else "NOT CERTIFIED")
            click.echo(f"{e.username:12} {e.name:6} {e.region:4} {e.skills_text:40} {e.certificate_no or '-':14} "
                       f"until {e.certified_until or '-'}  {state:13} open {loads.get(e.username, 0)}")


@engineers.command("add")
@click.argument("username")
@click.option("--name", required=True)
@click.option("--region", required=True, type=click.Choice(REGIONS))
@click.option("--skills", required=True, help="comma-separated: " + ", ".join(SKILLS))
@click.option("--certificate-no", required=True, help="上岗证号")
@click.option("--certified-until", required=True, help="last valid day, YYYY-MM-DD")
@click.pass_obj
def add_engineer(engine, username: str, name: str, region: str, skills: str, certificate_no: str,
                 certified_until: str) -> None:
    """Register a directory user as an engineer the dispatcher may send."""
    skill_list, until = _skills(skills), _day(certified_until)
    if Directory(engine.db, engine.clock).get(username) is None:
        fail(f"no user '{username}' in the directory; add the user first")
    with engine.db.writing() as session:
        if session.scalar(select(Engineer).where(Engineer.username == username)):
            fail(f"'{username}' is already an engineer")
        session.add(Engineer(username=username, name=name, region=region, skills=skill_list,
                             certificate_no=certificate_no, certified_until=until, active=True))
    click.echo(f"{username} added ({region}, {', '.join(skill_list)}, certified until {until})")


def _update(engine, username: str, **values) -> None:
    with engine.db.writing() as session:
        engineer = session.scalar(select(Engineer).where(Engineer.username == username))
        if engineer is None:
            fail(f"'{username}' is not a registered engineer")
        for key, value in values.items():
            setattr(engineer, key, value)


@engineers.command("certify")
@click.argument("username")
@click.option("--certificate-no", required=True, help="上岗证号")
@click.option("--until", "certified_until", required=True, help="last valid day, YYYY-MM-DD")
@click.pass_obj
def certify(engine, username: str, certificate_no: str, certified_until: str) -> None:
    """Record a new or renewed certificate (上岗证)."""
    until = _day(certified_until)
    _update(engine, username, certificate_no=certificate_no, certified_until=until)
    click.echo(f"{username} certified until {until}")


@engineers.command("skills")
@click.argument("username")
@click.argument("skills")
@click.pass_obj
def set_skills(engine, username: str, skills: str) -> None:
    """Replace an engineer's skills (comma-separated codes)."""
    skill_list = _skills(skills)
    _update(engine, username, skills=skill_list)
    click.echo(f"{username}: {', '.join(skill_list)}")


@engineers.command("deactivate")
@click.argument("username")
@click.pass_obj
def deactivate(engine, username: str) -> None:
    """Stop dispatching to an engineer (cases he holds stay his)."""
    _update(engine, username, active=False)
    click.echo(f"{username} deactivated")


@engineers.command("activate")
@click.argument("username")
@click.pass_obj
def activate(engine, username: str) -> None:
    _update(engine, username, active=True)
    click.echo(f"{username} activated")


@engineers.command("seed-demo")
@click.pass_obj
def seed_demo(engine) -> None:
    """Enter the demo engineers (fe.zhu, fe.yang, fe.ye, ts.qian and the expired ts.dong)."""
    with engine.db.writing() as session:
        click.echo(f"{seed_demo_engineers(session)} demo engineers added")


@click.group()
def warranties() -> None:
    """Warranty periods by model prefix (the longest matching prefix wins)."""


@warranties.command("list")
@click.pass_obj
def list_warranties(engine) -> None:
    with engine.db.sessions() as session:
        rows = list(session.scalars(select(ProductWarranty).order_by(ProductWarranty.model_prefix)))
    if not rows:
        click.echo("no warranty rules; run `aftersales warranties seed` for the defaults")
    for w in rows:
        click.echo(f"{w.model_prefix:10} {w.warranty_months:3} months  {w.product_name}")


@warranties.command("set")
@click.argument("model_prefix")
@click.option("--months", required=True, type=click.IntRange(0, 240))
@click.option("--product", "product_name", required=True)
@click.pass_obj
def set_warranty(engine, model_prefix: str, months: int, product_name: str) -> None:
    """Add or change the warranty of the models starting with MODEL_PREFIX."""
    prefix = model_prefix.strip().upper()
    with engine.db.writing() as session:
        rule = session.scalar(select(ProductWarranty).where(ProductWarranty.model_prefix == prefix))
        if rule is None:
            session.add(ProductWarranty(model_prefix=prefix, product_name=product_name, warranty_months=months))
        else:
            rule.product_name, rule.warranty_months = product_name, months
    click.echo(f"{prefix}: {months} months ({product_name})")


@warranties.command("seed")
@click.pass_obj
def seed_warranties(engine) -> None:
    """Enter the default warranty periods; prefixes already set are kept."""
    with engine.db.writing() as session:
        click.echo(f"{seed_product_warranties(session)} warranty rules added")
