"""Choose the answerability judge's thresholds on the odd half of a recorded run; report the even half (a thin wrapper).

The logic lives in ragbot/evaluation/calibrate.py and `ragbot eval --calibrate [RUN] [--save]` is the
command for it; this script adds two bench-only extras: ``--p-yes`` replays another way of asking the
judge on the same recording (a JSON-lines file of {"id", "p_yes"}, as bench/experiments/judge_variants.py --export
writes), and the instant engine's calibration (best sentence score -> confidence) is fitted on the
same questions' retrieval (recomputed: it needs no model).

    RAGBOT_JUDGE_ABSTAIN_BELOW=0 RAGBOT_JUDGE_ANSWER_FROM=0 RAGBOT_CLAIM_THRESHOLD=0.000001 RAGBOT_PASSAGE_ANSWER_FROM=0.000001 \\
        .venv/bin/ragbot eval --engine llm --dataset eval/briefs_qa.jsonl eval/unanswerable_qa.jsonl --out RUN_DIR
    .venv/bin/python bench/calibrate_judge.py RUN_DIR [--max-false 0.05] [--max-abstain 0.02] [--p-yes FILE]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from statistics import mean

import numpy as np

from ragbot.chain import Pipeline
from ragbot.evaluation import calibrate as cal
from ragbot.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a `ragbot eval --engine llm` output folder recorded as above")
    ap.add_argument("--max-false", type=float, default=cal.MAX_FALSE, help="false abstention the checks may add (default 0.05)")
    ap.add_argument("--max-abstain", type=float, default=cal.MAX_ABSTAIN, help="budget of answerable questions told 'the briefs don't say'")
    ap.add_argument("--p-yes", type=Path, help=f'JSON lines {{"id", "{cal.SCORE}"}}: replay these scores instead of the recorded ones')
    args = ap.parse_args()
    settings = Settings.load()
    recording = cal.load_recording(args.run, settings.corpus_dir)
    if args.p_yes:
        other = {o["id"]: o[cal.SCORE] for o in map(json.loads, args.p_yes.read_text(encoding="utf-8").splitlines())}
        for r, _ in recording.pairs:
            if cal.score_of(r) is not None and other.get(r["id"]) is not None:
                r["checks"][cal.SCORE] = other[r["id"]]
    result = cal.calibrate(recording, settings.to_dict(), args.max_false, args.max_abstain)
    print(result.text())

    odd, even = recording.half("odd"), recording.half("even")
    pipeline = Pipeline.load(Settings.load(engine="extractive"), refresh=False)
    best = {}
    for _, i in recording.pairs:
        scored = pipeline.engine("extractive").score_sentences(pipeline.retriever.run(i.question))
        best[i.id] = scored[0].score if scored else -1.0
    ea, eb = cal.fit_logistic(np.array([best[i.id] for _, i in odd]), np.array([float(i.answerable) for _, i in odd]))
    e_brier = mean((1 / (1 + math.exp(-(ea * best[i.id] + eb))) - float(i.answerable)) ** 2 for _, i in even)
    scores_of = {y: [best[i.id] for _, i in recording.pairs if i.answerable == y] for y in (True, False)}
    print(f"\nbest-sentence score AUROC, answerable vs unanswerable, all: {cal.auroc(scores_of[True], scores_of[False]):.3f}")
    print(f"extractive_calibration = [{ea:.3f}, {eb:.3f}]  (even half Brier {e_brier:.3f})")

    print(f"\nthe trade-off: {cal.ANSWER_FROM} alone (no other check), odd / even half:")
    for answer_from in cal.GRID:
        if answer_from < recording.floor.answer_from:
            continue
        t = cal.Thresholds(answer_from, 0.0, recording.floor.claim)
        fo, fe = (cal.figures(g, t, recording.floor) for g in (odd, even))
        print(
            f"  {answer_from:.2f}  wrong {fo['wrong_answer_rate']:.3f} / {fe['wrong_answer_rate']:.3f}  abstention "
            f"{fo['abstention']:.3f} / {fe['abstention']:.3f}  false abstention {fo['false_abstention']:.3f} / {fe['false_abstention']:.3f}"
            f"  key facts {fo['key_fact_recall']:.3f} / {fe['key_fact_recall']:.3f}"
        )


if __name__ == "__main__":
    main()
