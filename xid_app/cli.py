"""The ``xid`` command: a thin shell over :class:`xid_app.project.Project`."""

from __future__ import annotations

import functools
import json
import sys

import click

from . import __version__
from .accuracy import score_against
from .association import METHODS as ASSOCIATION_METHODS
from .config import Settings
from .consensus import METHODS
from .export import write_table
from .ingest import ArchiveSurvey, IngestError, MosaicSurvey
from .project import DatabaseGone, DatabaseNotReady, Project


def with_project(command):
    """Add ``--db URL`` to a command and pass it a :class:`Project`; turn expected failures into messages."""

    @click.option("--db", "db_url", metavar="URL", default=None,
                  help="Database URL (default: $XID_DATABASE_URL, else a SQLite file in the user data dir).")
    @functools.wraps(command)
    def wrapper(db_url, **kwargs):
        project = Project(db_url)
        try:
            return command(project, **kwargs)
        except (IngestError, DatabaseNotReady, DatabaseGone, ValueError) as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)

    return wrapper


class ProgressBar:
    """A progress bar on stderr fed by a library's ``progress(done, total)`` callback (hidden when stderr is
    not a terminal)."""

    def __init__(self, label: str):
        self.label, self.bar, self.done = label, None, 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xid")
def main():
    """XID: cross-identify radio sources with their optical/IR hosts."""


@main.command()
@with_project
def init(project: Project):
    """Create the database, or upgrade it to the latest schema."""
    project.init()
    click.echo(f"database ready: {project.url}")


@main.command()
@click.argument("sources", type=click.Path(dir_okay=False))
@click.option("--mosaic", "mosaics", multiple=True, metavar="KIND:BAND=GLOB",
              help="Cut every source from the best of these mosaic tiles, e.g. 'radio:LoTSS 144 MHz=tiles/P*.fits'. "
                   "Repeat for several surveys.")
@click.option("--archive", "archives", multiple=True, metavar="KIND:BAND=SERVICE:SURVEY",
              help="Fetch this survey for every source, e.g. 'optical:WISE W1=hips2fits:CDS/P/allWISE/W1' or "
                   "'optical:DSS=skyview:DSS'. Repeat for several; `xid fetch` fetches them ahead.")
@click.option("--id-column", default=None, help="Source ID column (default: source_id, Source_Name, name or id).")
@click.option("--size-column", default=None,
              help="Angular size column for the field size (default: size, LAS or Maj; arcsec unless it has a unit).")
@click.option("--image-root", "image_roots", multiple=True, type=click.Path(file_okay=False),
              help="A folder image paths may lie in besides the table's own (default: only the table's folder "
                   "and those in XID_IMAGE_ROOTS). Repeat for several.")
@with_project
def ingest(project: Project, sources, mosaics, archives, id_column, size_column, image_roots):
    """Ingest a source list (CSV, ECSV, FITS, VOTable): source_id, ra, dec [, radio_image, optical_image].

    All or nothing: a bad row or image stops the ingest and nothing of it is stored. With --mosaic, sources
    no tile covers are left out and counted.
    """
    surveys = [MosaicSurvey.parse(m) for m in mosaics]
    fetched = [ArchiveSurvey.parse(a) for a in archives]
    with ProgressBar("reading sources") as bar:
        report = project.ingest(sources, mosaics=surveys, archives=fetched, id_column=id_column,
                                size_column=size_column, image_roots=image_roots, progress=bar)
    click.echo(f"ingested {report.added} source(s); {report.unchanged} already stored unchanged"
               + (f"; {report.outside} outside every mosaic tile, left out" if report.outside else ""))


@main.command()
@click.option("--offline", is_flag=True, help="Only report what is not cached yet; contact no archive.")
@with_project
def fetch(project: Project, offline):
    """Fetch the archive image of every source's archive layers into the cache (resumable: run it again
    after a failure; cached images are not fetched again)."""
    if offline:
        project.settings = project.settings.model_copy(update=dict(offline=True))
    with ProgressBar("fetching") as bar:
        report = project.fetch(progress=bar)
    click.echo(f"fetched {report.fetched} image(s); {report.cached} already cached; {len(report.failed)} failed")
    for failure in report.failed[:20]:
        click.echo(f"  {failure}")
    if len(report.failed) > 20:
        click.echo(f"  ... and {len(report.failed) - 20} more")
    if report.failed:
        sys.exit(1)


@main.command("ingest-catalogue")
@click.argument("catalogue", type=click.Path(dir_okay=False))
@click.option("--id-column", default=None, help="Column of object IDs (default: 'id' or the first '*id' column).")
@click.option("--keep", default=None, metavar="COL,COL",
              help="Numeric columns kept with each object (default: those whose names contain 'mag' or 'flux').")
@with_project
def ingest_catalogue(project: Project, catalogue, id_column, keep):
    """Ingest an optical/IR catalogue (ID, ra, dec in degrees, magnitudes) for typed IDs and snapping clicks."""
    columns = [c.strip() for c in keep.split(",") if c.strip()] if keep is not None else None
    with ProgressBar("storing objects") as bar:
        report = project.ingest_catalogue(catalogue, id_column=id_column, keep=columns, progress=bar)
    click.echo(f"ingested {report.added} catalogue object(s); {report.unchanged} already stored")


@main.command("ingest-components")
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--id-column", default=None,
              help="Column of component IDs (default: component_id, Source_Name, name, FIRST or uuid).")
@with_project
def ingest_components(project: Project, table, id_column):
    """Ingest radio components (PyBDSF .srl/.gaul, the FIRST catalogue, Aegean, or any table with an ID, ra and
    dec in degrees; fluxes and shapes where present), all or nothing; re-ingesting changes nothing."""
    with ProgressBar("storing components") as bar:
        report = project.radio_sources.ingest(table, id_column=id_column, progress=bar)
    click.echo(f"ingested {report.added} component(s); {report.unchanged} already stored")


@main.group()
def users():
    """Manage users: `xid users add NAME [--admin]`, `xid users list`, `xid users logout NAME`."""


@users.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Give the admin role (admin page, exports, expert answers).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@with_project
def users_add(project: Project, name, admin, password_stdin):
    """Create a user (or reset their password and role). Passwords are stored as argon2 hashes."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    project.set_user(name, password=password, role="admin" if admin else "annotator")
    click.echo(f"user {name!r} saved as {'admin' if admin else 'annotator'}")


@users.command("logout")
@click.argument("name")
@with_project
def users_logout(project: Project, name):
    """End every open login of a user at once (their open pages stop saving answers)."""
    ended = project.end_logins(name)
    click.echo(f"ended {ended} open login(s) of {name!r}")


@users.command("list")
@with_project
def users_list(project: Project):
    """List users, their roles and whether they can log in."""
    for name, role, can_log_in in project.users():
        click.echo(f"{name}\t{role}\t{'password set' if can_log_in else 'no password (imported or open mode)'}")


@main.command("import-annotations")
@click.argument("file", type=click.Path(dir_okay=False))
@with_project
def import_annotations(project: Project, file):
    """Import clicks in the interchange CSV: classification_id, source_id, user, host_ra, host_dec, no_host."""
    with ProgressBar("importing") as bar:
        report = project.import_annotations(file, progress=bar)
    _report_import(report)


def _report_import(report) -> None:
    click.echo(
        f"imported {report.classifications_added} classification(s) with {report.clicks_added} click(s); "
        f"{report.already_stored} already stored; {len(report.rejected)} row(s) rejected"
    )
    for line, reason in report.rejected[:50]:
        click.echo(f"  line {line}: {reason}", err=True)
    if len(report.rejected) > 50:
        click.echo(f"  ... and {len(report.rejected) - 50} more", err=True)


def _params(values: tuple[str, ...]) -> dict[str, float]:
    params = {}
    for item in values:
        key, sep, value = item.partition("=")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise click.BadParameter(f"{item!r}: use key=number, e.g. link_radius_arcsec=4", param_hint="--param")
    return params


method_option = click.option("--method", type=click.Choice(sorted(METHODS)), default=None,
                             help="Consensus method (default: $XID_CONSENSUS_METHOD, else xid).")
param_option = click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
                            help="A parameter of the method; repeat for several. See `xid consensus --list`.")


@main.command("import-panoptes")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--subject-field", default="source_id", show_default=True,
              help="Subject metadata field holding the source_id ('' to use the Panoptes subject id).")
@click.option("--band", default=None, help="Layer the subject images show (default: the source's background).")
@click.option("--image-size", type=(int, int), default=None, metavar="W H",
              help="Subject image size in pixels, if it differs from the layer's.")
@click.option("--tool", type=int, default=None, help="Only this point tool's clicks mark hosts (default: all).")
@click.option("--components-tool", type=int, default=None,
              help="The point tool whose clicks select radio components (RGZ's first step).")
@with_project
def import_panoptes(project: Project, file, subject_field, band, image_size, tool, components_tool):
    """Import a Zooniverse Panoptes classification export: point clicks in subject-image pixels become sky
    positions through the layer's WCS; question answers become flags ("no host", artefact, blend...)."""
    with ProgressBar("importing") as bar:
        report = project.import_panoptes(file, subject_field=subject_field or None, band=band,
                                         image_size=image_size, tool=tool, components_tool=components_tool,
                                         progress=bar)
    _report_import(report)


@main.command()
@click.argument("out", type=click.Path(dir_okay=False))
@method_option
@param_option
@with_project
def export(project: Project, out, method, params):
    """Write the consensus host-ID catalogue; format from OUT's extension (.csv .ecsv .fits .vot)."""
    with ProgressBar("reading answers, consensus, catalogue") as bar:
        table = project.export(out, method, progress=bar, **_params(params))
    click.echo(f"wrote {len(table)} row(s) for {table.meta['NSOURCES']} source(s) to {out}")


@main.command("export-classifications")
@click.argument("out", type=click.Path(dir_okay=False))
@with_project
def export_classifications(project: Project, out):
    """Write every answer ever given (all revisions, flags, comments, raw clicks), one row per mark; its first
    six columns are the interchange format, so `xid import-annotations` reads it back."""
    table = project.export_classifications(out)
    click.echo(f"wrote {len(table)} row(s) to {out}")


association_option = click.option("--association", type=click.Choice(sorted(ASSOCIATION_METHODS)), default=None,
                                  help="Association rule (default: $XID_ASSOCIATION_METHOD, else lgz).")


@main.command("export-sources")
@click.argument("out", type=click.Path(dir_okay=False))
@association_option
@method_option
@with_project
def export_sources(project: Project, out, association, method):
    """Write the radio source catalogue: one row per source (its components, centroid, size, host,
    assoc_qual, id_qual); every component in one row. Format from OUT's extension."""
    sources, _ = project.radio_sources.catalogue(association, host_method=method)
    write_table(sources, out)
    click.echo(f"wrote {len(sources)} source(s) made of {sources.meta['NCOMPS']} component(s) to {out}")


@main.command("export-components")
@click.argument("out", type=click.Path(dir_okay=False))
@association_option
@with_project
def export_components(project: Project, out, association):
    """Write each component with the source it belongs to (component_id → source_name)."""
    _, components = project.radio_sources.catalogue(association)
    write_table(components, out)
    click.echo(f"wrote {len(components)} component(s) to {out}")


@main.command()
@method_option
@param_option
@click.option("--reference", type=click.Path(dir_okay=False, exists=True), default=None,
              help="CSV of reference hosts (source_id, host_ra, host_dec, has_host) to score against.")
@click.option("--radius", type=float, default=3.0, show_default=True,
              help="A host within this many arcsec of a reference host found it.")
@click.option("--list", "list_methods", is_flag=True, help="List the methods and their parameters.")
@click.option("--runs", "list_runs", is_flag=True, help="List the stored runs.")
@with_project
def consensus(project: Project, method, params, reference, radius, list_methods, list_runs):
    """Run a consensus method, store the run and summarise it; with --reference, score it against known hosts."""
    if list_runs:
        for run in project.consensus_runs():
            click.echo(f"run {run.id}  {run.created_at:%Y-%m-%d %H:%M}  {run.method} {json.dumps(run.params)}  "
                       f"{run.n_sources} sources, {run.n_hosts} hosts, {run.n_classifications} classifications")
        return
    if list_methods:
        for name, spec in METHODS.items():
            click.echo(f"{name}: {spec.doc}")
            for key, p in spec.params.items():
                unit = f" {p.unit}" if p.unit else ""
                click.echo(f"    {key} = {p.default:g}{unit}: {p.doc}")
        return
    source_ids, _, result = project.consensus(method, **_params(params))
    classified = int((result.n_classifications > 0).sum())
    with_host = len(set(result.host_source.tolist()))
    run_id = project.save_run(result)
    click.echo(f"run {run_id}: method {result.method} {result.params}")
    click.echo(f"{classified} classified source(s): {with_host} with a host ({len(result.host_ra)} host(s)), "
               f"{classified - with_host} without")
    if reference:
        score = score_against(reference, result, source_ids, radius_arcsec=radius)
        click.echo(f"against {reference} within {radius:g}\": found {score.found} of {score.n_reference} host(s), "
                   f"{score.extra} extra, no host agreed on {score.no_host_agreed} of {score.no_host_sources} "
                   f"(completeness {score.completeness:.3f}, purity {score.purity:.3f})")


@main.command()
@click.option("--demo", is_flag=True, help="Serve the bundled demo data from its own SQLite database.")
@click.option("--port", type=int, default=None, help="Port (default: $XID_PORT or 5006).")
@click.option("--address", default=None, help="Address to listen on (default: $XID_ADDRESS or 127.0.0.1).")
@click.option("--show/--no-show", default=False, help="Open a browser tab.")
@click.option("--prefix", default=None, help="URL path to serve under behind a proxy (default: $XID_PREFIX).")
@click.option("--db", "db_url", metavar="URL", default=None,
              help="Database URL (default: $XID_DATABASE_URL, else a SQLite file in the user data dir).")
def serve(demo, port, address, show, prefix, db_url):
    """Serve the annotation page."""
    from .server import serve as run_server

    settings = Settings()
    if prefix is not None:
        settings = settings.model_copy(update=dict(prefix=prefix))
    if demo:
        from .demo import DEMO_USERS, prepare_demo

        project = prepare_demo(settings, url=db_url)
        logins = ", ".join(f"{name} / {password} ({role})" for name, password, role in DEMO_USERS)
        click.echo(f"demo logins: {logins}")
    else:
        project = Project(db_url, settings=settings)
        try:
            project.check_ready()
        except DatabaseNotReady as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)
    from .server import UnsafeToServe

    try:
        run_server(project, port=settings.port if port is None else port,
                   address=address or settings.address, show=show)
    except UnsafeToServe as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)


@main.command()
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Directory for the report.")
@click.option("--bootstrap", type=int, default=1000, show_default=True, help="Bootstrap resamples for intervals.")
@with_project
def agreement(project: Project, out, bootstrap):
    """Agreement report: Fleiss' kappa, Krippendorff's alpha, per-annotator, per-source and pairwise tables as
    CSV, and an HTML page with plots that opens offline."""
    with ProgressBar("tables, bootstrap, report") as bar:
        path = project.agreement_report(out, n_boot=bootstrap, progress=bar)
    click.echo(f"wrote {path} and its tables in {out}")


@main.command()
@with_project
def settings(project: Project):
    """List every setting, its environment variable, current value and meaning, and the database in force."""
    for name, field in Settings.model_fields.items():
        click.echo(f"XID_{name.upper()} = {getattr(project.settings, name)!r}\n    {field.description}")
    click.echo(f"database in force: {project.url}")


if __name__ == "__main__":
    main()
