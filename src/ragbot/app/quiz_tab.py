"""The Quiz tab: a trainer picks, uploads or generates a quiz; a trainee answers one question at a time, sees
each grade with its source passage, then the score and a review. The attempt is saved after every answer."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from ragbot.app.render import highlight
from ragbot.chain import Pipeline
from ragbot.errors import RagbotError
from ragbot.quiz.generate import generate
from ragbot.quiz.model import QUESTION_TYPES, Question, Quiz, corpus_fingerprint, load_quiz
from ragbot.quiz.session import MARKS, MAX_RESPONSE_CHARS, TYPE_NAMES, Session, letter, score_line, source_spans
from ragbot.userdata.base import UserDataStore
from ragbot.userdata.records import MAX_NAME_CHARS

REVIEW_HEADERS = ["#", "Result", "Credit", "Your answer", "Answer", "Question"]


def quiz_folder(pipeline: Pipeline) -> Path:
    return pipeline.settings.data_dir / "quizzes"


def quiz_choices(pipeline: Pipeline) -> list[tuple[str, str]]:
    """(label, file name) for each quiz file in the data folder, newest first; unusable ones say why."""
    folder = quiz_folder(pipeline)
    fingerprint = corpus_fingerprint(pipeline.index.documents)
    found: list[tuple[str, str, str]] = []
    for path in folder.glob("*.json") if folder.is_dir() else []:
        try:
            quiz = load_quiz(path)
        except RagbotError:
            found.append(("", f"{path.name} (not a valid quiz file)", path.name))
            continue
        other = "" if quiz.corpus_fingerprint == fingerprint else " (another corpus)"
        label = f"{path.stem}: {len(quiz.questions)} questions, {quiz.created[:16].replace('T', ' ')}{other}"
        found.append((quiz.created, label, path.name))
    return [(label, name) for _, label, name in sorted(found, reverse=True)]


def file_name(quiz: Quiz) -> str:
    """A safe file name for a quiz, from its id: the same quiz uploaded twice is one file."""
    return (re.sub(r"[^A-Za-z0-9_-]+", "-", quiz.quiz_id).strip("-")[:60] or "quiz") + ".json"


def question_html(session: Session) -> str:
    q = session.question
    if q is None:
        return ""
    answered = session.attempt.answers
    so_far = f" · score so far {score_line(session.attempt.score, len(answered))}" if answered else ""
    head = f"Question {session.shown + 1} of {len(session.quiz.questions)} · {TYPE_NAMES[q.type]}{so_far}"
    return f"<div class='rb-meta'>{html.escape(head)}</div><div class='rb-text'><b>{html.escape(q.question)}</b></div>"


def feedback_html(q: Question, verdict: str, response: str, explanation: str) -> str:
    """The grade, the explanation and the source passage with where it says the answer marked; all escaped."""
    given = f" (your answer: {response})" if response else ""
    return (
        f"<p id='rb-quiz-verdict'><b>{MARKS[verdict]} {html.escape(verdict.capitalize())}</b>{html.escape(given)}</p>"
        f"<p>{html.escape(explanation)}</p>"
        f"<div class='rb-card' id='rb-quiz-source'><h4>Source passage: {html.escape(q.source.title)}</h4>"
        f"<div class='rb-meta'>{html.escape(q.source.doc_id)}</div>"
        f"<div class='rb-text'>{highlight(q.source.text, source_spans(q))}</div></div>"
    )


def status_html(message: str) -> str:
    return f"<p>⚠️ {html.escape(message)}</p>" if message else ""


def pick_message(message: str) -> str:
    return f"<p>{html.escape(message)}</p>"


def view(session: Session | None, message: str = "", feedback: str = "") -> tuple[Any, ...]:
    """Every output of start, submit and next, from the session: question, answer inputs, buttons, result."""
    status = status_html(message)
    if session is None:  # a mistake before a quiz starts: only the message changes
        return (status, *[gr.skip()] * 11)
    q = session.question
    if q is None:  # the end: score and review
        a = session.attempt
        score = (f"<h3>Your score: {html.escape(score_line(a.score, a.max_score))}</h3>"
                 f"<p>Saved for {html.escape(a.trainee)}. The review below shows every answer.</p>")  # fmt: skip
        review = gr.Dataframe(value=session.review(), headers=REVIEW_HEADERS)
        return (status, session, gr.Column(visible=False), "", gr.Radio(), gr.Textbox(), gr.Button(), gr.Button(), "",
                gr.Column(visible=True), score, review)  # fmt: skip
    answered = session.answered
    options = q.options if q.type == "mcq" else ["True", "False"] if q.type == "truefalse" else []
    labels = [(f"{letter(i)}. {o}" if q.type == "mcq" else o, o) for i, o in enumerate(options)]
    given = session.attempt.answers[-1]["response"] if answered else None
    radio = gr.Radio(choices=labels, value=given if answered and given in options else None, visible=bool(options),
                     interactive=not answered)  # fmt: skip
    text = gr.Textbox(value=(given or "") if answered else "", visible=q.type == "short", interactive=not answered)
    last = session.shown + 1 == len(session.quiz.questions)
    next_button = gr.Button("See my score" if last else "Next question", visible=answered)
    return (status, session, gr.Column(visible=True), question_html(session), radio, text, gr.Button(visible=not answered),
            next_button, feedback, gr.Column(visible=False), "", gr.Dataframe())  # fmt: skip


class QuizHandlers:
    """A trainer's quiz files (pick, upload, make) and a trainee's session; `current` returns the pipeline being served."""

    def __init__(self, current: Callable[[], Pipeline], store: UserDataStore) -> None:
        self.current, self.store = current, store

    def refresh(self, selected: str | None) -> Any:
        choices = quiz_choices(self.current())
        return gr.Dropdown(choices=choices, value=selected if selected in [n for _, n in choices] else None)

    def upload_quiz(self, path: str | None) -> tuple[str, Any]:
        if not path:
            return "", self.refresh(None)
        upload = Path(path)
        pipeline = self.current()
        try:
            quiz = load_quiz(upload, corpus_fingerprint(pipeline.index.documents))
            quiz_folder(pipeline).mkdir(parents=True, exist_ok=True)
            name = file_name(quiz)
            quiz.save(quiz_folder(pipeline) / name)
        except RagbotError as exc:
            return status_html(str(exc).replace(str(upload), upload.name)), self.refresh(None)
        except OSError as exc:
            return status_html(f"cannot save the quiz: {exc.strerror}"), self.refresh(None)
        return pick_message(f"Added {name}: {len(quiz.questions)} questions. It is selected below."), self.refresh(name)

    def make_quiz(self, n: float, types: list[str]) -> tuple[str, Any]:
        pipeline = self.current()
        try:
            made = generate(pipeline, n=int(n), types=tuple(t for t in QUESTION_TYPES if t in (types or [])), seed=secrets.randbelow(2**31))
            quiz_folder(pipeline).mkdir(parents=True, exist_ok=True)
            name = file_name(made.quiz)
            made.quiz.save(quiz_folder(pipeline) / name)
        except RagbotError as exc:
            return status_html(str(exc)), self.refresh(None)
        except OSError as exc:
            return status_html(f"cannot save the quiz: {exc.strerror}"), self.refresh(None)
        short = f"; only {len(made.quiz.questions)} of {int(n)} could be made" if len(made.quiz.questions) < int(n) else ""
        message = (f"Made {name}: {len(made.quiz.questions)} questions{short} ({made.candidates} drafted, "
                   f"{made.dropped} failed validation and were dropped). It is selected below.")  # fmt: skip
        return pick_message(message), self.refresh(name)

    def start(self, name: str, chosen: str | None) -> tuple[Any, ...]:
        pipeline = self.current()
        if not chosen:
            return view(None, "Choose a quiz first.")
        try:
            if Path(chosen).name != chosen:
                raise RagbotError("choose a quiz from the list")
            quiz = load_quiz(quiz_folder(pipeline) / chosen, corpus_fingerprint(pipeline.index.documents))
            session = Session.start(quiz, name)
        except RagbotError as exc:
            return view(None, str(exc).replace(str(quiz_folder(pipeline)) + "/", ""))
        return view(session)

    def submit(self, session: Session | None, picked: str | None, typed: str) -> tuple[Any, ...]:
        if session is None or session.question is None:
            return view(session, "Start a quiz first.")
        q = session.question
        if session.answered:
            return view(session, "This question is answered; go on with Next.")
        try:
            result = session.submit((typed if q.type == "short" else picked) or "", self.store, self.current().encoder)
        except RagbotError as exc:
            return view(session, str(exc))
        return view(session, feedback=feedback_html(q, result.verdict, session.attempt.answers[-1]["response"], result.explanation))

    def next_question(self, session: Session | None) -> tuple[Any, ...]:
        if session is None:
            return view(None, "Start a quiz first.")
        session.next()
        return view(session)


def build_quiz_tab(tab: gr.Tab, current: Callable[[], Pipeline], store: UserDataStore) -> None:
    """The tab's components and events, inside the open tab; selecting the tab lists the quiz files anew."""
    handlers = QuizHandlers(current, store)
    gr.Markdown(
        "**Trainers**: pick a quiz file from the data folder, upload one (`ragbot quiz generate` writes them), or make a new one. "
        "**Trainees**: enter your name and start; each answer is graded at once with its source passage, and saved. "
        "Submitting without an answer skips the question (no credit)."
    )
    with gr.Row():
        with gr.Column():
            chooser = gr.Dropdown(quiz_choices(current()), value=None, label="Quiz", elem_id="rb-quiz-pick")
            upload = gr.File(label="Or upload a quiz file (.json)", file_types=[".json"], type="filepath", height=120,
                             elem_id="rb-quiz-upload")  # fmt: skip
        with gr.Column(), gr.Accordion("Make a new quiz from the briefs", open=False):
            count = gr.Slider(1, 30, value=9, step=1, label="Questions", elem_id="rb-quiz-n")
            kinds = gr.CheckboxGroup([(TYPE_NAMES[t], t) for t in QUESTION_TYPES], value=list(QUESTION_TYPES), label="Question types")
            make = gr.Button("Make quiz", elem_id="rb-quiz-generate")
    picker_status = gr.HTML("", elem_id="rb-quiz-picker-status")
    with gr.Row():
        trainee = gr.Textbox(label="Your name", max_length=MAX_NAME_CHARS, elem_id="rb-quiz-name", scale=3)
        begin = gr.Button("Start quiz", variant="primary", elem_id="rb-quiz-start", scale=1)
    outputs = _session_area()
    session_state, choice_box, response, submit_button, next_button = outputs[1], outputs[4], outputs[5], outputs[6], outputs[7]
    begin.click(handlers.start, [trainee, chooser], outputs, api_name=False)
    submit_button.click(handlers.submit, [session_state, choice_box, response], outputs, api_name=False)
    response.submit(handlers.submit, [session_state, choice_box, response], outputs, api_name=False)
    next_button.click(handlers.next_question, session_state, outputs, api_name=False)
    upload.upload(handlers.upload_quiz, upload, [picker_status, chooser], api_name=False)
    make.click(handlers.make_quiz, [count, kinds], [picker_status, chooser], api_name=False, concurrency_limit=1)
    tab.select(handlers.refresh, chooser, chooser, api_name=False)


def _session_area() -> list[Any]:
    """The trainee's side, in the order `view` fills it: status, session, question area, answer inputs, buttons, result."""
    status = gr.HTML("", elem_id="rb-quiz-status")
    session_state = gr.State(None)
    with gr.Column(visible=False, elem_id="rb-quiz-area") as area:
        question = gr.HTML("", elem_id="rb-quiz-question")
        choice_box = gr.Radio([], label="Your answer", elem_id="rb-quiz-choice")
        response = gr.Textbox(label="Your answer", max_length=MAX_RESPONSE_CHARS, elem_id="rb-quiz-response")
        with gr.Row():
            submit_button = gr.Button("Submit", variant="primary", elem_id="rb-quiz-submit")
            next_button = gr.Button("Next question", visible=False, elem_id="rb-quiz-next")
        feedback = gr.HTML("", elem_id="rb-quiz-feedback")
    with gr.Column(visible=False, elem_id="rb-quiz-result") as result:
        score = gr.HTML("", elem_id="rb-quiz-score")
        review = gr.Dataframe(headers=REVIEW_HEADERS, interactive=False, wrap=True, column_widths=["4%", "12%", "7%", "17%", "17%", "43%"],
                              elem_id="rb-quiz-review")  # fmt: skip
    return [status, session_state, area, question, choice_box, response, submit_button, next_button, feedback, result, score, review]
