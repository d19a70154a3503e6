"""The admin page: team progress, catalogue downloads, and the expert queue where an admin sees the crowd's
marks on flagged sources and sets the final answer (which overrides consensus in the export)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pandas as pd
import panel as pn

from .. import agreement
from ..answers import InvalidSubmission
from ..auth import ActiveLogin
from ..export import FORMATS, write_table
from ..project import Project
from ..report import annotator_plot, readable_annotators, readable_summary
from .annotate import LOGOUT_STYLE, AnnotationPage
from .dashboard import SurveyDashboard
from .errors import SessionError
from .messages import as_text
from .session import AnnotationSession

DOWNLOADS = (".fits", ".vot", ".ecsv", ".csv")


def catalogue_bytes(project: Project, suffix: str) -> io.BytesIO:
    """The consensus catalogue (with expert answers applied) as a file in memory."""
    if suffix not in FORMATS:
        raise ValueError(f"unknown format {suffix}")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_table(project.host_catalogue(), Path(tmp) / f"xid_hosts{suffix}")
        return io.BytesIO(path.read_bytes())


class AdminPage(pn.viewable.Viewer):
    """The admin's page: progress, the expert queue, downloads, agreement."""

    def __init__(self, project: Project, *, login: ActiveLogin, logout: str | None = None):
        super().__init__()
        self.project = project
        self.session = AnnotationSession(project, expert=True)
        self.session.attach_login(login)
        self._gold_pending: set[int] = set()
        # after the expert saves (Next / No host) and moves on, the tables change
        self.annotator = AnnotationPage(self.session, ask_name=False, on_moved=lambda: self._guarded(self.refresh))
        self.annotator.title.object = "<h3>Choose a source from the queue</h3>"

        self.progress = pn.pane.DataFrame(pd.DataFrame(), index=False, sizing_mode="stretch_width",
                                          css_classes=["xid-user-table"])
        self.queue = pn.pane.DataFrame(pd.DataFrame(), index=False, sizing_mode="stretch_width",
                                       css_classes=["xid-queue-table"])
        self.pick = pn.widgets.Select(label="Source to decide", options={}, width=260)
        self.open = pn.widgets.Button(label="Open", color="primary", width=80, align="end")
        self.gold = pn.widgets.Checkbox(label="Gold standard (annotators are scored against this expert answer)",
                                       css_classes=["xid-gold-on"])
        self.refresh_button = pn.widgets.Button(label="Refresh", width=90)
        self.summary = pn.pane.HTML("", css_classes=["xid-summary"])
        self.agreement_button = pn.widgets.Button(label="Compute agreement", color="primary", width=170)
        self.agreement_summary = pn.pane.DataFrame(pd.DataFrame(), index=False, css_classes=["xid-agreement-summary"])
        self.agreement_plot = pn.pane.Bokeh(None, visible=False)
        self.agreement_note = pn.pane.HTML("", css_classes=["xid-agreement-note"])
        self.agreement_table = pn.pane.DataFrame(pd.DataFrame(), index=False, sizing_mode="stretch_width",
                                                 css_classes=["xid-agreement-table"])
        self.agreement_button.on_click(lambda _: self._guarded(self._agreement))
        downloads = [
            pn.widgets.FileDownload(callback=lambda s=suffix: self._guarded(lambda: catalogue_bytes(project, s),
                                                                            io.BytesIO()),
                                    filename=f"xid_hosts{suffix}", label=f"Catalogue {suffix}",
                                    color="primary", width=150)
            for suffix in DOWNLOADS
        ]
        self.open.on_click(lambda _: self._guarded(self._open))
        self.refresh_button.on_click(lambda _: self._guarded(self.refresh))
        self.gold.param.watch(lambda event: self._guarded(lambda: self._set_gold(event)), "value")

        self.dashboard = SurveyDashboard(project.survey.table, on_pick=lambda pk: self._guarded(lambda: self._open_pk(pk)))
        self.tabs = self._tabs(downloads)
        self.layout = pn.Column(
            pn.Row(pn.pane.HTML("<h2>XID · admin</h2>", css_classes=["xid-brand"]), pn.layout.HSpacer(),
                   pn.pane.HTML(f'<b>{as_text(login.user_name)}</b> · admin · <a href="./">Annotation page</a>',
                                align="center"),
                   pn.pane.HTML(logout or "", align="center", visible=bool(logout), stylesheets=[LOGOUT_STYLE]),
                   sizing_mode="stretch_width"),
            self.tabs,
            css_classes=["xid-page"],
        )
        self.refresh()

    def _tabs(self, downloads) -> pn.Tabs:
        return pn.Tabs(
            ("Progress", pn.Column(self.refresh_button, self.summary,
                                   pn.Column(self.progress, height=460, scroll=True, sizing_mode="stretch_width"))),
            ("Expert queue", pn.Column(
                pn.pane.HTML("Sources the crowd flagged as artefact, blend or too zoomed in. Open one: the "
                             "crowd's marks show as yellow crosses; mark the final host(s) or choose No host, "
                             "then Next saves your expert answer, which overrides consensus in the export."),
                self.queue, pn.Row(self.pick, self.open), self.gold, self.annotator)),
            ("Export", pn.Column(
                pn.pane.HTML("The consensus host-ID catalogue, one row per host, expert answers applied."),
                pn.Row(*downloads))),
            ("Agreement", pn.Column(
                pn.pane.HTML("Chance-corrected agreement and each annotator's agreement with consensus "
                             "(as <code>xid agreement</code> reports it)."),
                self.agreement_button, self.agreement_summary, pn.Row(self.agreement_plot, self.agreement_note),
                pn.Column(self.agreement_table, height=420, scroll=True, sizing_mode="stretch_width"))),
            ("Survey", self.dashboard),
            dynamic=False, css_classes=["xid-admin-tabs"],
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return self.layout

    def _guarded(self, handler, refused=None):
        """Run one of the admin's handlers only while the admin's login lasts (logging out, or an admin's
        ``xid users logout``, ends the page's powers at once); otherwise say why and return ``refused``."""
        try:
            self.session.require_login()
        except SessionError as exc:
            self.annotator.say(str(exc), "warning")
            return refused
        return handler()

    def refresh(self) -> None:
        stats = self.project.user_stats()
        queue = self.project.expert_queue()
        self.progress.object = pd.DataFrame(
            [(s.name, s.role, s.sources_done, s.classifications, s.gold_answered, s.last_active) for s in stats],
            columns=["user", "role", "sources done", "answers (with revisions)", "gold sources answered",
                     "last active (UTC)"],
        )
        self.queue.object = pd.DataFrame(
            [(q.source_id, q.n_classifications, q.n_artefact, q.n_blend, q.n_too_zoomed_in,
              "yes" if q.decided else "", "yes" if q.is_gold else "") for q in queue],
            columns=["source", "answers", "artefact", "blend", "too zoomed in", "decided", "gold"],
        )
        self.pick.options = {q.source_id: q.source_pk for q in queue}
        current = self.session.current
        if current is not None and current.source.pk in self.pick.options.values():
            self.pick.value = current.source.pk  # the source on screen, after Next moved on too
        self._gold_when_decided()
        active = sum(s.sources_done > 0 for s in stats)
        self.summary.object = (f"{len(stats)} users, {active} with answers; "
                               f"{sum(s.sources_done for s in stats)} source answers in all; "
                               f"{len(queue)} flagged source(s) in the expert queue, "
                               f"{sum(not q.decided for q in queue)} undecided.")

    def _agreement(self) -> None:
        """The agreement summary of the current answers (the same tables as the report)."""
        source_ids, ann, consensus = self.project.consensus()
        names = self.project.annotator_names()
        answers = agreement.answer_categories(ann, consensus)
        self.agreement_summary.object = readable_summary(agreement.summary(answers, n_boot=300))
        per_annotator = agreement.per_annotator(ann, consensus).rename(index=lambda i: names[i])
        self.agreement_plot.object = annotator_plot(per_annotator)
        self.agreement_plot.visible = True
        table, left_out = readable_annotators(per_annotator)
        self.agreement_table.object = table
        listed = ("The table lists annotators with 3 or more answers, least agreeing first; " if len(table)
                  else "No annotator has 3 or more answers yet; ")
        self.agreement_note.object = (f"Each dot is an annotator: low on both axes are the ones to talk to. {listed}"
                                      f"{left_out} with fewer are left out of it (too few to judge).")

    def _open_pk(self, source_pk: int) -> None:
        """A source picked on the survey map: open it in the expert view."""
        self.tabs.active = 1
        self.annotator.act(lambda: self.session.show(source_pk))

    def _open(self) -> None:
        if self.pick.value is None:
            return
        def show_gold() -> None:
            current = self.session.current
            self.gold.value = bool(current and current.source.is_gold)

        self.annotator.act(lambda: self.session.show(self.pick.value), then=show_gold)

    def _set_gold(self, event) -> None:
        current = self.session.current
        if current is None or event.new == current.source.is_gold:
            self._gold_pending.discard(current.source.pk if current is not None else None)
            return
        try:
            self.project.set_gold(current.source.pk, event.new)
            said = f"{current.source.source_id} is {'now' if event.new else 'no longer'} gold."
            self.annotator.act(lambda: self.session.show(current.source.pk),
                                then=lambda: self.annotator.say(said, "success"))
        except InvalidSubmission:
            # no expert answer yet: the source becomes gold as soon as one is saved, without reopening it
            self._gold_pending.add(current.source.pk)
            self.annotator.say(f"{current.source.source_id} becomes gold once you save your answer "
                               "(Next or No host).", "info")
            return
        self.refresh()

    def _gold_when_decided(self) -> None:
        """Make gold the sources ticked before their expert answer was saved, now that it is."""
        for source_pk in sorted(self._gold_pending):
            try:
                self.project.set_gold(source_pk, True)
            except InvalidSubmission:
                continue  # not decided yet
            self._gold_pending.discard(source_pk)
            self.annotator.say("Saved your answer; the source is now gold.", "success")
