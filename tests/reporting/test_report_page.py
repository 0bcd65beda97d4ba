"""The report's content, read back from its HTML: the numbers it states against NumPy, its
text escaped, and sections that degrade (no data, no convolution, a plot that fails)
without taking the rest of the report down."""

from __future__ import annotations

import html as html_module
import re
from types import SimpleNamespace

import numpy as np
import pytest

import lamina
from lamina import layers, plot
from lamina.reporting import training_report as report_module
from lamina.reporting.page import BANDS
from tests.reporting.conftest import fit_accepts_diagnose, stripes
from tests.reporting.report_html import decode_png, parse


def test_lamina_report_is_the_reporting_function():
    assert lamina.report is lamina.reporting.report is report_module.report


def _first_conv(model) -> str:
    return next(layer.name for layer in model.layers if type(layer).__name__ == "Conv2D")


def test_report_states_the_model_and_its_accuracy_as_numpy_counts_them(trained, written):
    sections = written.parsed.sections
    assert list(sections) == list(BANDS)
    # the summary is model.summary()'s text, line for line
    lines: list[str] = []
    trained.model.summary(print_fn=lines.append)
    assert all(line.strip() in sections["summary"].text for line in lines)
    assert "Total params: 631" in sections["summary"].text
    # the accuracy and the number of mistakes, against argmax of predict
    predicted = trained.model.predict(trained.x, verbose=0).argmax(axis=1)
    wrong = int((predicted != trained.y).sum())
    assert 0 < wrong < len(trained.y)  # two epochs leave mistakes to show
    accuracy = 100 * (len(trained.y) - wrong) / len(trained.y)
    assert (
        f"Accuracy {accuracy:.2f}%: {wrong} of {len(trained.y)} samples misclassified"
        in sections["confusion"].text
    )
    assert f"{min(wrong, 25)} of {wrong} misclassified samples" in sections["mistakes"].text
    assert "trained 2 epochs; evaluated on 300 samples" in sections["header"].text
    # the filters are those of the first convolution (its name depends on the layers made before)
    assert f"Layer {_first_conv(trained.model)} (Conv2D)" in sections["filters"].text
    assert len(sections["filters"].images) == 1


def test_report_shows_the_diagnostics_of_a_diagnosed_fit(trained, written):
    if not fit_accepts_diagnose():
        pytest.skip("fit(diagnose=...) is not there yet")
    diagnostics = trained.history.diagnostics
    text = written.parsed.sections["diagnostics"].text
    tables = _tables(written.html, "diagnostics")
    if diagnostics.findings:
        assert f"{len(diagnostics.findings)} warning" in text
        assert [row[3] for row in tables[0][1:]] == [f.message for f in diagnostics.findings]
    else:
        assert "No warnings" in text and len(tables) == 1
    # the last epoch's statistics, layer by layer, as Diagnostics recorded them
    last = [r for r in diagnostics.records if r.epoch == 1]
    assert "Per-layer statistics at epoch 2" in text
    assert [row[0] for row in tables[-1][1:]] == [r.layer for r in last]
    conv = next(r for r in last if r.layer == _first_conv(trained.model))
    assert tables[-1][1][:5] == [
        conv.layer,
        "Conv2D",
        "relu",
        f"{conv.grad_norm:.3g}",
        f"{conv.update_ratio:.3g}",
    ]
    assert tables[-1][1][5] == f"{100 * conv.dead_fraction:.1f}%"


def _history(**fields) -> SimpleNamespace:
    return SimpleNamespace(history={"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, **fields)


def _tables(html: str, section: str) -> list[list[list[str]]]:
    """The tables of one section: rows of cell texts (tags stripped, unescaped)."""
    body = html.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    return [
        [
            [html_module.unescape(c) for c in re.findall(r"<t[dh]>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
        ]
        for table in re.findall(r"<table>(.*?)</table>", body, flags=re.S)
    ]


def test_diagnostics_findings_records_none_or_not_recorded(tmp_path):
    from lamina.callbacks.diagnostic_records import Finding, LayerRecord

    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    finding = Finding(
        epoch=3,
        kind="vanishing_gradients",
        layer="dense <1>",
        message="Gradient norms of the first layer are 1e-6 of the last's.",
        advice="Use ReLU & batch norm.",
        evidence={"ratio": 1e-6},
    )
    as_dict = {"epoch": 4, "kind": "overfitting", "layer": None, "message": "m", "advice": "a"}
    records = [
        LayerRecord(4, "out", "Dense", "softmax", 1, True, grad_norm=0.5, update_ratio=2e-3),
        LayerRecord(4, "hidden", "Dense", "relu", 0, False, 1.25e-4, dead_fraction=0.625),
        LayerRecord(3, "hidden", "Dense", "relu", 0, False, 9.0),  # an earlier epoch
    ]
    cases = {
        "absent": _history(),
        "none": _history(diagnostics=SimpleNamespace(findings=[], records=[])),
        "two": _history(diagnostics=SimpleNamespace(findings=[finding, as_dict], records=records)),
    }
    pages = {}
    for name, history in cases.items():
        path = lamina.report(model, history, path=tmp_path / f"{name}.html")
        pages[name] = path.read_text(encoding="utf-8")
    text = {name: parse(html).sections["diagnostics"].text for name, html in pages.items()}
    assert "Diagnostics were not recorded" in text["absent"]
    assert "No warnings" in text["none"] and "not recorded" not in text["none"]
    assert _tables(pages["none"], "diagnostics") == []
    assert "2 warnings" in text["two"] and "Per-layer statistics at epoch 5" in text["two"]
    found, stats = _tables(pages["two"], "diagnostics")
    assert found == [  # epochs counted from 1, as the curves count them
        ["Epoch", "Problem", "Layer", "What happened", "What to try"],
        ["4", "vanishing gradients", finding.layer, finding.message, finding.advice],
        ["5", "overfitting", "", "m", "a"],
    ]
    assert stats == [
        ["Layer", "Type", "Activation", "Gradient norm", "Update / weights"]
        + ["Dead ReLU units", "Saturated units"],
        ["hidden", "Dense", "relu", "0.000125", "", "62.5%", ""],
        ["out", "Dense", "softmax", "0.5", "0.002", "", ""],
    ]
    assert "dense &lt;1&gt;" in pages["two"] and "ReLU &amp; batch norm" in pages["two"]


def test_text_is_escaped(tmp_path):
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))], name="net")
    title = '<script>alert("x")</script> & <img src=x>'
    html = lamina.report(model, None, path=tmp_path / "r.html", title=title).read_text()
    parsed = parse(html)
    assert "<script" not in html and "<img src=x" not in html
    assert parsed.sections["header"].text.startswith(title)  # shown as text, unchanged
    assert f"<title>{html_module.escape(title)}</title>" in html


def test_sections_without_data_history_or_convolution_say_so(tmp_path):
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    parsed = parse(lamina.report(model, path=tmp_path / "r.html").read_text())
    sections = parsed.sections
    assert list(sections) == list(BANDS)
    assert "No history given" in sections["curves"].text
    assert "No data given" in sections["mistakes"].text
    assert "No data given" in sections["confusion"].text
    assert "has no 2-D convolution" in sections["filters"].text
    assert not any(s.images for s in sections.values())
    assert "error" not in " ".join(c for s in sections.values() for c in s.classes)


def test_a_section_that_fails_shows_its_error_and_the_rest_still_draws(
    trained, tmp_path, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("the grid could not be drawn <on purpose>")

    monkeypatch.setattr(plot, "predictions", broken, raising=False)
    x, y = trained.x[:60], trained.y[:60]
    path = lamina.report(trained.model, trained.history, data=(x, y), path=tmp_path / "r.html")
    sections = parse(path.read_text()).sections
    assert sections["mistakes"].classes == ["band", "error"]
    assert sections["mistakes"].text.endswith(
        "Could not draw mistakes: RuntimeError: the grid could not be drawn <on purpose>"
    )
    assert not sections["mistakes"].images
    for key in ("curves", "confusion", "filters"):
        assert len(sections[key].images) == 1 and "error" not in sections[key].classes
        assert decode_png(sections[key].images[0]).size > 0


def test_report_writes_atomically_and_checks_its_arguments(tmp_path, monkeypatch):
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    path = tmp_path / "deeper" / "report.html"
    assert lamina.report(model, path=path) == path and path.read_text().startswith("<!DOCTYPE")
    path.write_text("the previous report")

    def page_fails(*args, **kwargs):
        raise MemoryError("while writing")

    monkeypatch.setattr(report_module, "page", page_fails)
    with pytest.raises(MemoryError):
        lamina.report(model, path=path)
    assert path.read_text() == "the previous report"
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]
    monkeypatch.undo()
    x, y = stripes(10)
    with pytest.raises(ValueError, match=r"Expected data=\(x, y\), received: data=ndarray"):
        lamina.report(model, data=x, path=path)
    with pytest.raises(ValueError, match="received: len\\(x\\)=10, len\\(y\\)=9"):
        lamina.report(model, data=(x, y[:9]), path=path)
    with pytest.raises(ValueError, match="received: n_mistakes=0"):
        lamina.report(model, data=(x, y), path=path, n_mistakes=0)


def test_report_on_one_hot_labels_counts_the_same_mistakes(trained, tmp_path):
    x, y = trained.x[:90], trained.y[:90]
    one_hot = np.eye(3, dtype="float32")[y]
    texts = []
    for labels in (y, one_hot):
        path = lamina.report(trained.model, data=(x, labels), path=tmp_path / "r.html")
        texts.append(parse(path.read_text()).sections["confusion"].text)
    assert texts[0] == texts[1] and "Accuracy" in texts[0]


def test_the_confusion_matrix_and_the_mistakes_share_one_prediction(trained, tmp_path, monkeypatch):
    """Both sections classify the same data: the report runs `predict` over it once."""
    calls: list[int] = []
    original = trained.model.predict

    def predict(x, *args, **kwargs):
        calls.append(len(x))
        return original(x, *args, **kwargs)

    monkeypatch.setattr(trained.model, "predict", predict)
    x, y = trained.x, trained.y
    parsed = parse(lamina.report(trained.model, data=(x, y), path=tmp_path / "r.html").read_text())
    assert calls == [len(x)]
    assert "misclassified" in parsed.sections["confusion"].text
    assert "misclassified" in parsed.sections["mistakes"].text
