"""Documents as users have them, measured (docs/measurements/ingest.md).

    python -m bench.ingest extractors [--runs 5]     PDF extractors compared: defects per page, seconds per page
    python -m bench.ingest speed [--runs 5]          pages (or documents) per second for each format, as ragbot reads them
    python -m bench.ingest eval [--formats pdf docx html scan] [--engine extractive]
                                                     the shipped briefs replaced by their renderings: `ragbot eval` on eval/

The renderings are made by the tests' generators (tests/readers/render.py: reportlab, python-docx, an HTML
page around the article, a scan rasterised with PDFium), from the shipped briefs and from a brief written
for the tests. Run from the repository root with the dev dependencies installed (`make setup`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.readers.conftest import LAYOUTS, SHIPPED, own_brief, running_texts, shipped_brief
from tests.readers.quality import KINDS, sentence_defects
from tests.readers.render import Brief, render_docx, render_html, render_pdf, render_scan

from ragbot.readers import layout
from ragbot.readers.registry import read

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("hit@1", "mrr", "key_fact_recall", "hit@5", "abstention", "wrong_answer_rate")


def fixtures() -> list[tuple[str, Brief, bytes]]:
    """(label, brief, PDF): the shipped briefs in two columns, and the test brief in each test layout."""
    out = [(name[:7], shipped_brief(name), render_pdf(shipped_brief(name))) for name in SHIPPED]
    brief = own_brief()
    out += [(f"own/{label}", brief, render_pdf(brief, **kw)) for label, kw in LAYOUTS.items()]
    return out


# --- PDF extractors ------------------------------------------------------------------------------


def pypdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def pypdfium2_text(data: bytes) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    text = "\n\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    return text.replace("\r\n", "\n").replace("\x02", "").replace("\ufffe", "")


def pdfplumber_text(data: bytes) -> str:
    import io

    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n\n".join(page.extract_text() or "" for page in pdf.pages)


def pdfplumber_layout(data: bytes) -> str:
    """pdfplumber's characters (box, size, font name) through ragbot's own layout rules, as pypdfium2's are."""
    import io

    import pdfplumber

    pages = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        title = (pdf.metadata or {}).get("Title")
        for page in pdf.pages:
            lines: list[layout.Line] = []
            for ln in page.extract_text_lines(return_chars=True, keep_blank_chars=False, x_tolerance=1.5):
                pieces: list[list[dict]] = [[]]
                for ch in ln["chars"]:
                    if pieces[-1] and ch["x0"] - pieces[-1][-1]["x1"] > ch["size"]:
                        pieces.append([])
                    pieces[-1].append(ch)
                for chars in pieces:
                    if not chars:
                        continue
                    size = statistics.mode(round(c["size"], 1) for c in chars)
                    text = ""
                    for prev, c in zip([None, *chars], chars, strict=False):
                        gap = prev is not None and c["x0"] - prev["x1"] > 0.2 * c["size"]
                        if c["size"] < 0.85 * size and c["text"].isdigit():
                            text += f"<sup>{c['text']}</sup>" if not text.endswith("</sup>") else ""
                            if text.endswith("</sup>") and prev is not None and prev["size"] < 0.85 * size:
                                text = text[: -len("</sup>")] + c["text"] + "</sup>"
                            continue
                        text += (" " if gap else "") + c["text"]
                    hyphen = text.endswith("-") and len(text) > 1 and text[-2].isalpha()
                    bold = sum("bold" in c["fontname"].lower() or "bd" in c["fontname"].lower() for c in chars) >= 0.8 * len(chars)
                    top = min(c["top"] for c in chars)
                    lines.append(layout.Line(text[:-1] if hyphen else text, chars[0]["x0"], chars[-1]["x1"], top, top + size, size,
                                             bold, hyphen))  # fmt: skip
            pages.append(layout.Page(page.width, page.height, tuple(lines)))
    return layout.lay_out(pages, title).text


def ragbot_pypdfium2(data: bytes) -> str:
    return read(data, "x.pdf").text


EXTRACTORS: dict[str, tuple[str, Callable[[bytes], str]]] = {
    "pypdf (BSD-3), plain text": ("pypdf", pypdf_text),
    "pdfplumber (MIT), plain text": ("pdfplumber", pdfplumber_text),
    "pypdfium2 (Apache-2.0/BSD-3), plain text": ("pypdfium2", pypdfium2_text),
    "pdfplumber characters + ragbot's layout": ("pdfplumber", pdfplumber_layout),
    "pypdfium2 characters + ragbot's layout (kept)": ("pypdfium2", ragbot_pypdfium2),
}


def cmd_extractors(args: argparse.Namespace) -> None:
    docs = fixtures()
    pages = sum(read(pdf, "x.pdf").pages for _, _, pdf in docs)
    print(f"{len(docs)} PDFs, {pages} pages; defects are passage sentences; seconds per page: median of {args.runs} runs (range)\n")
    print("| extractor | " + " | ".join(KINDS) + " | defects per page | s per page |")
    print("|---|" + "---|" * (len(KINDS) + 2))
    for label, (_, extract) in EXTRACTORS.items():
        counts = dict.fromkeys(KINDS, 0)
        for _, brief, pdf in docs:
            for kind, found in sentence_defects(extract(pdf), brief, running_texts(brief)).items():
                counts[kind] += len(found)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            for _, _, pdf in docs:
                extract(pdf)
            times.append((time.perf_counter() - start) / pages)
        total = sum(counts.values())
        cells = " | ".join(str(counts[k]) for k in KINDS)
        print(f"| {label} | {cells} | {total / pages:.2f} | {statistics.median(times):.4f} ({min(times):.4f}–{max(times):.4f}) |")


# --- speed -----------------------------------------------------------------------------------------


def cmd_speed(args: argparse.Namespace) -> None:
    brief = own_brief()
    long_pdf = render_pdf(brief, pad_pages=60)
    cases = {
        "PDF, text layer (two columns)": (long_pdf, "x.pdf"),
        "PDF, text layer, 300 pages (tests/readers/test_pdf.py reads it for its progress)": (render_pdf(brief, pad_pages=295), "x.pdf"),
        "PDF, scanned (OCR, 300 dpi)": (render_scan(render_pdf(shipped_brief(SHIPPED[-1])), dpi=200), "x.pdf"),
        "Word (.docx)": (render_docx(shipped_brief(SHIPPED[1])), "x.docx"),
        "web page (.html)": (render_html(shipped_brief(SHIPPED[1])), "x.html"),
    }
    print(f"median of {args.runs} runs (range); the 2-core machine was shared\n")
    print("| format | pages (or documents) | seconds | pages per second |")
    print("|---|---|---|---|")
    for label, (data, name) in cases.items():
        times = []
        runs = 3 if "OCR" in label else args.runs
        for _ in range(runs):
            start = time.perf_counter()
            extracted = read(data, name)
            times.append(time.perf_counter() - start)
        n = extracted.pages or 1
        unit = "pages" if extracted.pages else "document"
        med = statistics.median(times)
        spread = f" ({min(times):.2f}–{max(times):.2f})" if runs > 1 else " (1 run)"
        print(f"| {label} | {n} {unit} | {med:.2f}{spread} | {n / med:.1f} |")


# --- eval on renderings --------------------------------------------------------------------------------


def render_folder(fmt: str, target: Path) -> Path:
    """The shipped briefs as fmt ("txt": the corpus itself, with sources.json; the others without it)."""
    if target.exists():
        shutil.rmtree(target)
    if fmt == "txt":
        shutil.copytree(ROOT / "corpus", target)
        return target
    target.mkdir(parents=True)
    for name in SHIPPED:
        brief = shipped_brief(name)
        stem = name[:-4]
        if fmt == "pdf":
            (target / f"{stem}.pdf").write_bytes(render_pdf(brief))
        elif fmt.startswith("scan"):
            (target / f"{stem}.pdf").write_bytes(render_scan(render_pdf(brief)))
        elif fmt == "docx":
            (target / f"{stem}.docx").write_bytes(render_docx(brief))
        else:
            (target / f"{stem}.html").write_bytes(render_html(brief))
    return target


def ragbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "ragbot.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)  # fmt: skip


def cmd_eval(args: argparse.Namespace) -> None:
    work = Path(args.work)
    rows = {}
    for fmt in ([] if args.no_txt else ["txt"]) + args.formats:
        corpus = render_folder(fmt, work / fmt)
        index = work / f"{fmt}-index"
        shutil.rmtree(index, ignore_errors=True)
        env = {"RAGBOT_OCR": "off"} if fmt == "scan-no-ocr" else None
        built = ragbot("index", "--corpus", str(corpus), "--index", str(index), env=env)
        if built.returncode != 0:
            rows[fmt] = built.stderr.strip().splitlines()[-1]
            continue
        skipped = [line for line in built.stderr.splitlines() if line.startswith("skipped")]
        out = work / f"run-{fmt}-{args.engine}"
        run = ragbot("eval", "--index", str(index), "--engine", args.engine, "--out", str(out),
                     "--dataset", "eval/briefs_qa.jsonl", "eval/unanswerable_qa.jsonl", env=env)  # fmt: skip
        if not (out / "metrics.json").is_file():
            rows[fmt] = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "no metrics"
            continue
        overall = json.loads((out / "metrics.json").read_text())["overall"]
        errors = [line for line in run.stderr.splitlines() if "skipped" in line]
        rows[fmt] = {**{m: overall[m] for m in METRICS}, "dataset lines refused": len(errors), "files skipped": len(skipped)}
        print(fmt, rows[fmt], file=sys.stderr)
    base = rows.get("txt")
    print(f"engine {args.engine}; 142 questions (eval/briefs_qa.jsonl + eval/unanswerable_qa.jsonl)\n")
    print("| corpus | " + " | ".join(METRICS) + " | max difference (hit@1, MRR, key facts) | dataset lines refused |")
    print("|---|" + "---|" * (len(METRICS) + 2))
    for fmt, row in rows.items():
        if isinstance(row, str):
            print(f"| {fmt} | {row} |")
            continue
        diff = max(abs(row[m] - base[m]) for m in METRICS[:3]) if isinstance(base, dict) else float("nan")
        print(f"| {fmt} | " + " | ".join(f"{row[m]:.3f}" for m in METRICS) + f" | {diff:.3f} | {row['dataset lines refused']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extractors")
    p.add_argument("--runs", type=int, default=5)
    p = sub.add_parser("speed")
    p.add_argument("--runs", type=int, default=5)
    p = sub.add_parser("eval")
    p.add_argument("--formats", nargs="+", default=["pdf", "docx", "html"], choices=["pdf", "docx", "html", "scan", "scan-no-ocr"])
    p.add_argument("--engine", default="extractive", choices=["extractive", "llm"])
    p.add_argument("--work", default="/tmp/ragbot-ingest")
    p.add_argument("--no-txt", action="store_true", help="skip the .txt corpus (compare with its figures in docs/measurements/README.md)")
    args = parser.parse_args()
    {"extractors": cmd_extractors, "speed": cmd_speed, "eval": cmd_eval}[args.command](args)


if __name__ == "__main__":
    main()
