"""The report's diagnostics: what `Diagnostics` found, in plain words, and the per-layer
statistics of the last epoch it recorded (`history.diagnostics` of `fit(diagnose=True)`).

Epochs show counted from 1, as the learning curves and fit's progress bar count them
(`Finding.epoch` and `LayerRecord.epoch` count from 0, as Keras's callbacks do).
"""

from __future__ import annotations

import math
from typing import Any

from lamina.reporting.page import Section, paragraph, text

# LayerRecord fields the statistics table shows, with their column headings
RECORD_COLUMNS = (
    ("layer", "Layer"),
    ("kind", "Type"),
    ("activation", "Activation"),
    ("grad_norm", "Gradient norm"),
    ("update_ratio", "Update / weights"),
    ("dead_fraction", "Dead ReLU units"),
    ("saturation", "Saturated units"),
)
SHARES = {"dead_fraction", "saturation"}  # shown as percentages


def field(item: Any, name: str) -> Any:
    """`item.name`, or `item[name]` for a dict (Finding.to_dict() and the like)."""
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def shown_epoch(epoch: Any) -> str:
    return str(epoch + 1) if isinstance(epoch, int) else ("" if epoch is None else str(epoch))


def number(value: Any, share: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if share:
        return f"{100 * float(value):.1f}%"
    return f"{float(value):.3g}" if isinstance(value, (int, float)) else str(value)


def table(headings: list[str], rows: list[list[str]]) -> str:
    """An HTML table of plain-text cells (escaped here)."""
    head = "<tr>" + "".join(f"<th>{text(h)}</th>" for h in headings) + "</tr>"
    body = ["<tr>" + "".join(f"<td>{text(c)}</td>" for c in row) + "</tr>" for row in rows]
    return f"<table>{head}{''.join(body)}</table>"


def findings_table(findings: list[Any]) -> str:
    rows = [
        [
            shown_epoch(field(f, "epoch")),
            str(field(f, "kind") or "").replace("_", " "),
            "" if field(f, "layer") is None else str(field(f, "layer")),
            str(field(f, "message") or ""),
            str(field(f, "advice") or ""),
        ]
        for f in findings
    ]
    return table(["Epoch", "Problem", "Layer", "What happened", "What to try"], rows)


def records_table(records: list[Any]) -> tuple[int | None, str]:
    """The last recorded epoch and its per-layer statistics, in forward-pass order."""
    epochs = [e for e in (field(r, "epoch") for r in records) if isinstance(e, int)]
    last = max(epochs) if epochs else None
    chosen = [r for r in records if field(r, "epoch") == last]
    chosen.sort(key=lambda r: field(r, "position") or 0)
    rows = [
        [
            number(field(r, name), share=name in SHARES)
            if name not in ("layer", "kind", "activation")
            else str(field(r, name) or "")
            for name, _ in RECORD_COLUMNS
        ]
        for r in chosen
    ]
    return last, table([heading for _, heading in RECORD_COLUMNS], rows)


def fill(section: Section, history: Any) -> None:
    """The diagnostics section's body (the caller guards it against errors)."""
    found = getattr(history, "diagnostics", None) if history is not None else None
    if found is None:
        section.body.append(
            paragraph(
                "Diagnostics were not recorded: fit with diagnose=True "
                "(or callbacks=[lamina.callbacks.Diagnostics()]) to get them.",
                "note",
            )
        )
        return
    findings = list(field(found, "findings") or ())
    if findings:
        count = len(findings)
        section.body.append(paragraph(f"{count} warning{'s' if count != 1 else ''}:"))
        section.body.append(findings_table(findings))
    else:
        section.body.append(paragraph("No warnings: training looked healthy.", "ok"))
    records = list(field(found, "records") or ())
    if records:
        last, html = records_table(records)
        section.body.append(
            paragraph(f"Per-layer statistics at epoch {shown_epoch(last)} (medians):")
        )
        section.body.append(html)
