"""What every catalog page shares: the document around it, its stylesheet, the security headers,
and small formatting helpers. Every value from the catalog goes through `esc`.

The page carries no script and loads nothing: the stylesheet is inline and allowed by its hash
in the Content-Security-Policy, which forbids everything else."""

from __future__ import annotations

import base64
import hashlib
import html
import time
from collections.abc import Iterable

from eventsub.catalog.links import ROOT, graph_href

STYLE = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#d9dee4;--bg:#f7f8fa;--accent:#3949ab;
--red:#c62828;--amber:#b26a00;--green:#2e7d32;--blue:#1565c0}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--ink);background:var(--bg)}
header{background:#263238;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:baseline}
header b{font-size:16px;letter-spacing:.3px}
header a{color:#cfd8dc;text-decoration:none}header a:hover{color:#fff}
main{padding:16px 24px;max-width:1400px}
h1{font-size:22px;margin:4px 0 2px}h2{font-size:16px;margin:22px 0 8px}
a{color:var(--accent)}
.muted{color:var(--muted)}.small{font-size:12px}
nav.pages{margin:10px 0;color:var(--muted)}
form.search{display:flex;gap:8px;margin:8px 0 12px;flex-wrap:wrap;align-items:center}
form.search input[type=search]{flex:1;min-width:260px;padding:7px 10px;border:1px solid var(--line);
border-radius:6px;font-size:14px}
form.search select,form.search button{padding:7px 10px;border:1px solid var(--line);
border-radius:6px;background:#fff;font-size:14px}
form.search button{background:var(--accent);color:#fff;border-color:var(--accent)}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eceff1;font-weight:600;font-size:12px;text-transform:uppercase;color:var(--muted)}
table.events{table-layout:fixed}table.fields{max-width:900px}
table.events th:nth-child(1){width:24%}table.events th:nth-child(2){width:12%}
table.events th:nth-child(3){width:10%}table.events th:nth-child(4),
table.events th:nth-child(5){width:16%}table.events th:nth-child(6){width:8%}
td{overflow-wrap:anywhere}
tr.flagged td:first-child{box-shadow:inset 3px 0 var(--amber)}
tr.loop td:first-child{box-shadow:inset 3px 0 var(--red)}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:11.5px;font-weight:600;
line-height:18px;margin:1px 2px 1px 0;white-space:nowrap;background:#eceff1;color:var(--muted)}
.b-red{background:#fdecea;color:var(--red)}.b-amber{background:#fff4e0;color:var(--amber)}
.b-green{background:#e8f5e9;color:var(--green)}.b-blue{background:#e3f2fd;color:var(--blue)}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:150px}
.card b{display:block;font-size:20px}
.findings{background:#fff;border:1px solid var(--line);border-left:4px solid var(--amber);
border-radius:6px;padding:8px 14px;margin:10px 0}
.findings.loops{border-left-color:var(--red)}
.findings ul{margin:4px 0;padding-left:20px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:8px 0;max-width:900px;
background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
.flow{display:grid;grid-template-columns:minmax(0,340px) auto minmax(0,260px) auto minmax(0,340px);
gap:10px;align-items:center;margin:8px 0}
.flow .col{display:flex;flex-direction:column;gap:6px}
.flow .arrow{font-size:22px;color:var(--muted)}
.pill{background:#fff;border:1px solid var(--line);border-radius:8px;padding:6px 10px}
.pill.topic{border:2px solid var(--green);background:#f1f8f4;text-align:center;font-weight:600}
.pill.loop{border-color:var(--red)}
code,pre{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;
max-height:420px}
.graph{background:#fff;border:1px solid var(--line);border-radius:8px;margin-top:8px;
display:inline-block;min-width:100%}
main.wide{max-width:none}
.legend{display:flex;gap:14px;flex-wrap:wrap;margin:6px 0;font-size:12.5px;color:var(--muted)}
.legend i{display:inline-block;width:22px;height:12px;border-radius:3px;vertical-align:middle;
margin-right:5px;border:1.5px solid}
.l-service{background:#e8eaf6;border-color:#3949ab}.l-event{background:#e8f5e9;border-color:#2e7d32}
.l-declared{background:#f5f5f5;border-color:#90a4ae;border-style:dashed}
.l-loop{background:#fff;border-color:#c62828}.l-orphan{background:#fff;border-color:#b26a00;
border-style:dashed}
svg text{font:12px system-ui,"DejaVu Sans",sans-serif;fill:#1f2933}
svg .service rect{fill:#e8eaf6;stroke:#3949ab;stroke-width:1.3}
svg .foreign rect{fill:#fff;stroke:#3949ab;stroke-dasharray:4 3}
svg .declared rect{fill:#f5f5f5;stroke:#90a4ae;stroke-dasharray:4 3}
svg .event rect{fill:#e8f5e9;stroke:#2e7d32;stroke-width:1.3}
svg .orphan rect{stroke:#b26a00;stroke-dasharray:5 3;stroke-width:1.8}
svg .deprecated text{fill:#8d6e63;font-style:italic}
svg .loop rect{stroke:#c62828;stroke-width:2.6;stroke-dasharray:none}
svg a:hover rect{stroke-width:2.6}
svg path.edge{fill:none;stroke:#90a4ae;stroke-width:1.3}
svg path.edge.loop{stroke:#c62828;stroke-width:2.4}
svg .mark{font-size:10.5px;fill:#b26a00;font-weight:600}
svg .loop .mark{fill:#c62828}
"""

_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


NONE = '<span class="muted">&ndash;</span>'  # a value not known (yet)


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def document(title: str, body: str, wide: bool = False) -> str:
    """wide: the page grows with its content (a graph) instead of keeping a reading width."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="icon" href="data:,">'
            f"<title>{esc(title)} · eventsub catalog</title><style>{STYLE}</style></head><body>"
            f'<header><b>eventsub catalog</b><a href="{ROOT}">Events</a>'
            f'<a href="{graph_href()}">Graphs</a></header>'
            f'<main{" class=wide" if wide else ""}>{body}</main></body></html>')


BADGE_COLOURS = {"Deprecated": "amber", "Experimental": "blue", "Active": "grey",
                 "feedback loop": "red"}


def badge(text: str, colour: str | None = None) -> str:
    colour = colour or BADGE_COLOURS.get(text, "amber")
    return f'<span class="badge b-{esc(colour)}">{esc(text)}</span>'


def number(value: float | int | None, unit: str = "") -> str:
    if value is None:
        return NONE
    text = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
    return esc(f"{text}{unit}")


def moment(epoch: float | None, now: float) -> str:
    """A wall-clock time in UTC and how long ago it was."""
    if epoch is None:
        return '<span class="muted">not seen</span>'
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))
    return f'{esc(stamp)} <span class="muted">({esc(ago(now - epoch))})</span>'


def ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def joined(parts: Iterable[str], empty: str = '<span class="muted">none</span>') -> str:
    items = list(parts)
    return ", ".join(items) if items else empty
