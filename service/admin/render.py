"""The dashboard page: :class:`~service.admin.status.Status` into escaped HTML.

``templates/dashboard.html`` is a :class:`string.Template`; every value that
comes from a model, a log or a request is passed through :func:`html.escape`
here, so a tenant id or a training message cannot inject markup.
"""

from __future__ import annotations

import functools
import html
import time
from importlib import resources
from string import Template

from mlcore import __version__
from service.admin.status import Status, TenantStatus
from service.trainer_control import TrainerState

e = html.escape


@functools.cache
def _template() -> Template:
    text = resources.files("service.admin").joinpath("templates/dashboard.html").read_text("utf-8")
    return Template(text)


def render(status: Status, csrf: str, flash: str = "", now: float | None = None) -> str:
    """The whole page."""
    now = time.time() if now is None else now
    busy = status.trainer is None or status.trainer.running or status.pending_request
    return _template().substitute(
        version=e(__version__),
        generated=_when(now),
        flash=f'<div class="flash" id="flash">{e(flash)}</div>' if flash else "",
        trainer=_trainer(status.trainer, status.pending_request, now),
        csrf=e(csrf),
        retrain_disabled="disabled" if busy else "",
        rows="\n".join(_row(tenant, csrf) for tenant in status.tenants)
        or '<tr><td colspan="8" class="muted">No tenant has a model or a training yet.</td></tr>',
        report=_report(status.report_files),
    )


def _trainer(state: TrainerState | None, pending: bool, now: float) -> str:
    if state is None:
        return '<p class="bad">No trainer is running (mlservice serve --no-trainer?).</p>'
    parts = []
    if state.running:
        which = f"tenant {e(state.run_tenant)}" if state.run_tenant else "all tenants"
        since = _when(state.run_started_at) if state.run_started_at else "?"
        parts.append(f'<p id="trainer-status"><b>Training now</b> ({which}) since {since}.</p>')
    else:
        pending_text = " A requested run starts within seconds." if pending else ""
        parts.append(f'<p id="trainer-status">Idle.{pending_text}</p>')
    if state.next_run_at is not None:
        retry = " (retry after a failed training)" if state.retrying else ""
        parts.append(f"<p>Next scheduled run: {_when(state.next_run_at)}{retry}.</p>")
    last = state.last_run
    if last is not None:
        css = "ok" if last.outcome == "success" else "bad"
        which = f" for tenant {e(last.tenant)}" if last.tenant else ""
        parts.append(
            f'<p>Last run{which}: <span class="{css}">{e(last.outcome)}</span>, '
            f"finished {_when(last.finished_at)} after {last.seconds:.0f} s "
            f"(exit status {last.exit_code}).</p>"
        )
    return "\n".join(parts)


def _row(tenant: TenantStatus, csrf: str) -> str:
    model = tenant.model
    cells = [f"<code>{e(tenant.tenant)}</code>"]
    if model is None:
        cells += ['<span class="bad">no model</span>', "", "", "", ""]
    else:
        cells += [
            f"<code>{e(model.version)}</code>"
            + (f"<br><span class='muted'>{e(model.refresh)}</span>" if model.refresh else ""),
            f'<span title="{e(", ".join(tenant.kept))}">{len(tenant.kept)}</span>',
            _when(model.trained_at) if model.trained_at else "-",
            f"{e(model.backend or '-')} <span class='muted'>({e(model.algorithm)})</span>",
            _ndcg(model.served_ndcg, model.popularity_ndcg, model.gate_reason, model.message),
        ]
    cells.append(_last_training(tenant))
    cells.append(_actions(tenant, csrf))
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _ndcg(served: float | None, popularity: float | None, reason: str | None, message: str) -> str:
    if served is None:
        return f'<span class="muted">{e(message)}</span>'
    text = f"{served:.4f} / {popularity:.4f}" if popularity is not None else f"{served:.4f}"
    return text + (f'<br><span class="muted">{e(reason)}</span>' if reason else "")


def _last_training(tenant: TenantStatus) -> str:
    training = tenant.last_training
    if training is None:
        return '<span class="muted">-</span>'
    css = "bad" if training.failed else "ok" if training.succeeded else "muted"
    return f'{e(training.timestamp)}<br><span class="{css}">{e(training.message)}</span>'


def _actions(tenant: TenantStatus, csrf: str) -> str:
    hidden = (
        f'<input type="hidden" name="csrf_token" value="{e(csrf)}">'
        f'<input type="hidden" name="tenant" value="{e(tenant.tenant)}">'
    )
    rollback = "" if tenant.can_roll_back else " disabled"
    return (
        f'<form method="post" action="/retrain">{hidden}'
        f'<button type="submit" class="secondary" id="retrain-{e(tenant.tenant)}">Retrain</button>'
        f"</form> "
        f'<form method="post" action="/rollback">{hidden}'
        f'<button type="submit" class="secondary" id="rollback-{e(tenant.tenant)}"{rollback}>'
        f"Roll back</button></form>"
    )


def _report(files: tuple[str, ...]) -> str:
    if not files:
        return (
            '<p class="muted">No tuning report in ML_TUNING_REPORT_DIR '
            "(write one with <code>mlservice tune</code>).</p>"
        )
    links = "".join(
        f'<li><a href="/reports/{e(name)}">{e(name)}</a></li>'
        for name in files
        if name.endswith(".md")
    )
    images = "".join(
        f'<img src="/reports/{e(name)}" alt="{e(name)}">' for name in files if name.endswith(".png")
    )
    return f'<ul>{links}</ul><div class="plots">{images}</div>'


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp))
