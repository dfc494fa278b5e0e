"""The page in a real browser: headless Debian Chromium driven by Playwright, against the real server."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from ragbot.index.reader import load_index
from ragbot.index.writer import build_index
from ragbot.quiz.model import Question, Source, load_quiz
from ragbot.settings import Settings
from ragbot.userdata.sqlite import SqliteStore

from .chromium import launch, require_chromium
from .conftest import EDITOR, READER, copy_small_corpus, running_server, sample_quiz
from .index.conftest import new_database
from .test_cli import ragbot

EVIL = "2024-01_evil-brief.md"
# Counts the events Gradio reports completed on its event stream (window.__rbCompleted): a test waits on the page's load
# events having answered, rather than on a fixed time, before checking what they left hidden.
COUNT_COMPLETED = """
(() => {
  const fetch0 = window.fetch;
  window.__rbCompleted = 0;
  window.fetch = async (...args) => {
    const response = await fetch0(...args);
    const url = String((args[0] && args[0].url) || args[0]);
    if (!url.includes("/gradio_api/queue/data") || !response.body) return response;
    const [page, counted] = response.body.tee();
    (async () => {
      const reader = counted.getReader(), decoder = new TextDecoder();
      let text = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        let at;
        while ((at = text.indexOf("process_completed")) >= 0) { window.__rbCompleted++; text = text.slice(at + 17); }
      }
    })();
    return new Response(page, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
})();
"""

require_chromium()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder):
    """Two real briefs plus one whose text is HTML and script, indexed and served."""
    root = tmp_path_factory.mktemp("site")
    corpus = copy_small_corpus(root / "corpus")
    (corpus / EVIL).write_text(
        '# Zanzibar lighthouse memo <img src=x onerror="window.__pwned=1">\n\n'
        "The Zanzibar lighthouse keeper reported <script>window.__pwned=1</script> seven ships in 2023.\n",
        encoding="utf-8",
    )
    settings = Settings(corpus_dir=corpus, index_dir=root / "index", data_dir=root / "data")
    build_index(settings, embedder, progress=False, log=lambda _m: None)
    env = {"RAGBOT_CORPUS_DIR": str(corpus), "RAGBOT_INDEX_DIR": str(root / "index"), "RAGBOT_DATA_DIR": str(root / "data")}
    env |= {"RAGBOT_LLM_MODEL": "smollm2-135m", "RAGBOT_LLM_MAX_TOKENS": "60"}  # the small model, for the LLM plumbing
    env |= {
        "RAGBOT_JUDGE_ABSTAIN_BELOW": "0",
        "RAGBOT_JUDGE_ANSWER_FROM": "0",
        "RAGBOT_CLAIM_THRESHOLD": "0",
        "RAGBOT_PASSAGE_ANSWER_FROM": "0",
    }  # it is no judge
    with running_server(env, HELD_WRITING.format(hold=str(root / "hold-writing"))) as url:
        yield url, env, root


# The server's written answers wait after the judge's verdict for as long as the file {hold} exists: a test holds the
# writing open (SmolLM2 writes in about a second) to act meanwhile, whatever the machine's speed.
HELD_WRITING = """
import time
from pathlib import Path
from ragbot.answer import Verdict
from ragbot.engines.llm import LLMEngine
hold, judge_and_write = Path({hold!r}), LLMEngine._judge_and_write
def held(self, *args, **kwargs):
    for event in judge_and_write(self, *args, **kwargs):
        yield event
        while isinstance(event, Verdict) and hold.exists():
            time.sleep(0.05)
LLMEngine._judge_and_write = held
"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch(pw)
        yield b
        b.close()


@pytest.fixture
def page(browser, site):
    p = browser.new_page(viewport={"width": 1280, "height": 900})
    p.goto(site[0])
    yield p
    p.close()


LLM_OPTION = "llm: checked by the model, then a written answer"


@pytest.fixture(scope="module")
def strict_site(tmp_path_factory: pytest.TempPathFactory, embedder):
    """The two briefs served with a judge that is never sure enough to answer (SmolLM2, P(Yes) must reach 1)."""
    root = tmp_path_factory.mktemp("strict")
    corpus = copy_small_corpus(root / "corpus")
    build_index(Settings(corpus_dir=corpus, index_dir=root / "index"), embedder, progress=False, log=lambda _m: None)
    env = {"RAGBOT_CORPUS_DIR": str(corpus), "RAGBOT_INDEX_DIR": str(root / "index"), "RAGBOT_DATA_DIR": str(root / "data")}
    env |= {"RAGBOT_LLM_MODEL": "smollm2-135m", "RAGBOT_JUDGE_ABSTAIN_BELOW": "0", "RAGBOT_JUDGE_ANSWER_FROM": "1"}
    with running_server(env) as url:
        yield url


def test_the_three_answer_states_on_the_page(browser, strict_site):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(strict_site)
    status = page.locator("#rb-sources .rb-status")
    ask(page, "What share of South Korea's energy supplies passes through the Malacca Strait?")
    bot = page.locator("[data-testid='bot']").last
    assert "90 per cent" in bot.inner_text() and "Not checked by the model" in bot.inner_text(), "answered, by the instant engine"
    assert status.count() == 0 and page.locator(".rb-card").first.get_attribute("id") == "rb-source-1"
    ask(page, "What is the recipe for kimchi stew?")
    status.wait_for(timeout=30_000)
    assert status.get_attribute("data-status") == "abstained" and "The briefs don't say" in status.inner_text()
    assert "The briefs don't say." in page.locator("[data-testid='bot']").last.inner_text()
    page.locator(".label-wrap", has_text="Settings").click()
    page.get_by_label("Answer engine").click()
    page.get_by_role("option", name=LLM_OPTION).click()
    page.get_by_label("Question").fill("What share of South Korea's energy supplies passes through the Malacca Strait?")
    page.get_by_role("button", name="Ask", exact=True).click()
    page.wait_for_function("() => document.querySelector(\"#rb-sources .rb-status[data-status='unsure']\")", timeout=180_000)
    assert "not an answer" in status.inner_text()
    final = page.locator("[data-testid='bot']").last.inner_text()
    assert "Unsure: not an answer." in final and "Closest evidence:" in final and "90 per cent" in final, final
    assert "Writing an answer" not in final and "Checked by the model" not in final
    page.close()


def ask(page, question: str) -> None:
    page.get_by_label("Question").fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()
    page.locator(".rb-card").first.wait_for(timeout=60_000)


def test_ask_and_see_a_cited_answer(page):
    ask(page, "What share of South Korea's energy supplies passes through the Malacca Strait?")
    answer = page.locator("[data-testid='bot']").last.inner_text()
    assert "90 per cent" in answer and "[1]" in answer
    card = page.locator(".rb-card").first
    assert "[1] ASEAN-ROK Security Cooperation in a Dual Contingency" in card.inner_text()
    assert page.locator("[data-testid='bot'] a[href='#rb-source-1']").count() >= 1 and card.get_attribute("id") == "rb-source-1"
    assert "About 90 per cent" in card.locator("mark").first.inner_text()


def test_the_llm_answer_streams_after_the_quotes_and_a_follow_up_is_rewritten(page, site):
    hold = site[2] / "hold-writing"
    page.locator(".label-wrap", has_text="Settings").click()
    page.get_by_label("Answer engine").click()
    page.get_by_role("option", name=LLM_OPTION).click()
    page.get_by_label("Question").fill("What share of South Korea's energy supplies passes through the Malacca Strait?")
    hold.touch()  # the writing waits after the verdict until the second question has been refused
    try:
        page.get_by_role("button", name="Ask", exact=True).click()
        bot = page.locator("[data-testid='bot']").last
        bot.get_by_text("Writing an answer").wait_for(timeout=60_000)  # the quotes are shown while the model writes
        assert "90 per cent" in bot.inner_text() and page.locator(".rb-card").count() >= 1
        assert "The passages state the answer (confidence" in bot.inner_text(), "the model's check came first"
        # A second question while the answer is written is refused (it would be drawn over), and kept in the box.
        page.get_by_label("Question").fill("Who wrote the Fulcrum article?")
        page.get_by_label("Question").press("Enter")
        page.get_by_text("A written answer is still on its way").wait_for(timeout=30_000)
    finally:
        hold.unlink(missing_ok=True)
    page.wait_for_function(
        "() => { const b = [...document.querySelectorAll(\"[data-testid='bot']\")].pop(); return b && !b.innerText.includes('Writing'); }",
        timeout=180_000,
    )
    final = page.locator("[data-testid='bot']").last.inner_text()
    assert "[1]" in final, final
    assert page.locator("[data-testid='user']").count() == 1
    assert page.get_by_label("Question").input_value() == "Who wrote the Fulcrum article?"
    page.get_by_label("Question").fill("and which sea routes are those?")
    page.get_by_role("button", name="Ask", exact=True).click()
    page.get_by_text("Understood as:").wait_for(timeout=180_000)
    page.wait_for_function(
        "() => { const b = [...document.querySelectorAll(\"[data-testid='bot']\")].pop(); return b && !b.innerText.includes('Writing'); }",
        timeout=180_000,
    )
    assert "[1]" in page.locator("[data-testid='bot']").last.inner_text()


def test_a_citation_opens_the_brief_at_the_highlighted_passage(page):
    ask(page, "What share of South Korea's energy supplies passes through the Malacca Strait?")
    page.locator("#rb-source-pick").get_by_text("[1] ASEAN-ROK Security Cooperation in a Dual Contingency").click()
    hit = page.locator("#rb-hit")
    hit.wait_for(timeout=30_000)
    assert "About 90 per cent of South Korea’s energy supplies" in hit.inner_text()
    assert "ASEAN-ROK Security Cooperation in a Dual Contingency" in page.locator(".rb-doc h3").inner_text()
    in_view = "() => { const r = document.getElementById('rb-hit').getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"
    page.wait_for_function(in_view, timeout=10_000)


def test_feedback_is_stored_and_exported(page, site):
    _, env, root = site
    ask(page, "What did ASEAN and South Korea upgrade their partnership to in October 2024?")
    page.get_by_text("Was this answer useful?").click()
    page.get_by_label("Comment (optional)").fill("Clear answer, right brief.")
    page.get_by_role("button", name="👍 Helpful").click()
    page.get_by_text("Thank you: your feedback is saved.").wait_for(timeout=30_000)
    proc = ragbot("feedback", "export", cwd=root, env=env)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert proc.returncode == 0 and rows
    row = rows[-1]
    assert row["comment"] == "Clear answer, right brief." and row["rating"] == "1"
    assert row["question"] == "What did ASEAN and South Korea upgrade their partnership to in October 2024?"
    assert "Comprehensive Strategic Partnership" in row["answer"] and "[1]" in row["citations"]


def test_html_and_script_in_a_document_render_as_text(page):
    ask(page, "How many ships did the Zanzibar lighthouse keeper report?")
    card = page.locator(".rb-card").first
    assert "seven ships" in card.inner_text() and "window.__pwned=1" in card.inner_text()  # inert text, tags dropped
    page.locator("#rb-source-pick label").first.click()
    page.locator("#rb-hit").wait_for(timeout=30_000)
    source = page.locator(".rb-doc").inner_text()  # the viewer shows the file exactly, as text
    assert '<img src=x onerror="window.__pwned=1">' in source and "<script>window.__pwned=1</script>" in source
    assert page.evaluate("() => window.__pwned") is None


def test_html_script_and_markdown_in_a_question_render_as_text(page):
    question = (
        'Malacca <img src=x onerror="window.__pwned=1"> <b>bold</b> <script>window.__pwned=1</script> '
        "**star** [link](javascript:window.__pwned=1) ![pic](http://127.0.0.1:9/p.png) energy share?"
    )
    ask(page, question)
    shown = page.locator("[data-testid='user']").last
    assert shown.inner_text().strip() == question, "the question is shown exactly as typed"
    assert shown.locator("img, b, strong, a, script").count() == 0, "no element is made from the question"
    assert page.evaluate("() => window.__pwned") is None


def test_upload_a_brief_then_ask_about_it_and_remove_it(page, site):
    _, _env, root = site
    brief = root / "Reef survey 2026.md"
    brief.write_text("# Reef survey\n\nThe 2026 reef survey counted 412 coral species around Palawan.\n", encoding="utf-8")
    page.get_by_role("tab", name="Documents").click()
    page.locator("#rb-documents").get_by_text("2025-07_fulcrum_asean-rok-security-dual-contingency.txt").wait_for()
    page.locator("#rb-upload input[type=file]").set_input_files(str(brief))
    page.get_by_role("button", name="Add to library").click()
    page.locator("#rb-library-status").get_by_text("Added Reef-survey-2026.md").wait_for(timeout=120_000)
    assert "Reef-survey-2026.md" in page.locator("#rb-documents").inner_text()
    page.get_by_role("tab", name="Chat").click()
    ask(page, "How many coral species did the 2026 reef survey count?")
    assert "412" in page.locator("[data-testid='bot']").last.inner_text()
    assert "Reef survey" in page.locator(".rb-card").first.inner_text()
    page.get_by_role("tab", name="Documents").click()
    page.get_by_label("Remove a brief").click()
    page.get_by_role("option", name="Reef survey").click()
    page.get_by_role("button", name="Remove from library").click()
    page.locator("#rb-library-status").get_by_text("Removed Reef-survey-2026.md").wait_for(timeout=120_000)
    assert not (root / "corpus" / "Reef-survey-2026.md").exists()


def test_evaluation_tab_runs_a_dataset_and_shows_metrics_and_plots(page, site, tmp_path):
    import json

    qa = tmp_path / "mini.jsonl"
    evidence = {"doc": "2025-07_fulcrum_asean-rok-security-dual-contingency.txt", "quote": "About 90 per cent of South Korea"}
    item = {
        "id": "m1",
        "question": "What share of South Korea's energy supplies passes through the Malacca Strait?",
        "type": "numeric",
        "answer": "About 90 per cent",
        "key_facts": ["90 per cent"],
        "evidence": [evidence],
    }
    qa.write_text(json.dumps(item) + "\n" + "{broken\n", encoding="utf-8")
    page.get_by_role("tab", name="Evaluation").click()
    page.locator("#rb-eval-file input[type=file]").set_input_files(str(qa))
    page.get_by_role("button", name="Run evaluation").click()
    page.locator("#rb-eval-status").get_by_text("Evaluated 1 questions from mini.jsonl").wait_for(timeout=120_000)
    assert "1 lines skipped" in page.locator("#rb-eval-status").inner_text()
    table = page.locator("#rb-eval-table").inner_text()
    assert "hit@1" in table and "key_fact_recall" in table
    assert page.locator("img").count() >= 3
    files = page.locator("#rb-eval-files").inner_text().replace("\n", "")
    assert all(name in files for name in ("report.md", "metrics.json", "results.jsonl"))


def test_evaluation_tab_draws_the_risk_coverage_curve_and_compares_two_runs_with_intervals(page, tmp_path):
    import json

    from .conftest import CSP, MALACCA

    def item(qid: str, question: str, fact: str = "", doc: str = "", quote: str = "") -> str:
        kind, evidence = ("factoid", [{"doc": doc, "quote": quote}]) if fact else ("unanswerable", [])
        return json.dumps({"id": qid, "question": question, "type": kind, "answer": fact, "key_facts": [fact] if fact else [],
                           "evidence": evidence})  # fmt: skip

    qa = tmp_path / "four.jsonl"
    qa.write_text("\n".join([
        item("b1", "What share of South Korea's energy supplies passes through the Malacca Strait?", "90 per cent",
             "2025-07_fulcrum_asean-rok-security-dual-contingency.txt", MALACCA),
        item("b2", "What did ASEAN and South Korea elevate their partnership to in October 2024?", "Comprehensive Strategic Partnership",
             "2024-11_asan_asean-korea-comprehensive-strategic-partnership.txt", CSP),
        item("b3", "What was the total value of ASEAN-Korea trade in 2023?"),
        item("b4", "How many ships did South Korea's navy send to the Red Sea in 2024?"),
    ]) + "\n", encoding="utf-8")  # fmt: skip
    page.get_by_role("tab", name="Evaluation").click()
    status = page.locator("#rb-eval-status")
    for engine in ("llm", "extractive"):
        page.locator("#rb-eval-engine").get_by_text(LLM_OPTION if engine == "llm" else "extractive: instant quotes").click()
        if engine == "llm":  # the file stays chosen for the second run
            page.locator("#rb-eval-file input[type=file]").set_input_files(str(qa))
        page.get_by_role("button", name="Run evaluation").click()
        page.wait_for_function(f"() => document.querySelector('#rb-eval-run-b input')?.value.includes('-page-{engine} ')", timeout=300_000)
        assert "Evaluated 4 questions from four.jsonl" in status.inner_text()
        if engine == "llm":  # the LLM engine's run shows its risk-coverage curve
            page.locator("#rb-eval-risk img").wait_for(timeout=30_000)
            assert page.locator("#rb-eval-risk img").evaluate("img => img.naturalWidth") >= 600, "the plot was drawn"
        else:  # the instant engine has no judge's score to sweep: no curve
            page.locator("#rb-eval-risk").wait_for(state="hidden", timeout=30_000)
    assert "-page-llm " in page.locator("#rb-eval-run-a input").input_value(), "A: the run before"
    page.get_by_role("button", name="Compare").click()
    page.locator("#rb-eval-compare-status").get_by_text("paired bootstrap 95% intervals").wait_for(timeout=60_000)
    table = page.locator("#rb-eval-compare").inner_text()
    assert "95% interval" in table and "wrong_answer_rate" in table and "precision_of_answered" in table
    assert re.search(r"\[[-+]\d\.\d{3}, [-+]\d\.\d{3}\]", table), table
    assert "includes 0" in table, "four questions cannot tell most differences from noise"
    assert "questions higher in B" in page.locator("#rb-eval-flips").inner_text()


def _quiz_with_a_script(root: Path, path: Path) -> None:
    """The sample quiz plus a question on the brief whose title and text are HTML and script."""
    index = load_index(root / "index")
    quiz = sample_quiz(index, "browser-quiz")
    p = next(p for p in index.passages if p.doc_id == EVIL)
    sentence = "The Zanzibar lighthouse keeper reported <script>window.__pwned=1</script> seven ships in 2023."
    quiz.questions.append(Question("q4", "truefalse", f"True or false? According to “{p.title}”: “{sentence}”", "True",
                                   f"“{sentence}” ({p.title})", Source(p.passage_id, p.doc_id, p.title, p.text), None, "year"))  # fmt: skip
    quiz.save(path)


def _submit(page, verdict: str) -> None:
    page.locator("#rb-quiz-submit").click()
    page.locator("#rb-quiz-verdict").get_by_text(verdict).wait_for(timeout=60_000)


def _next(page, label: str, then: str) -> None:
    page.get_by_role("button", name=label).click()
    page.get_by_text(then).first.wait_for(timeout=30_000)


def test_take_a_quiz_in_the_quiz_tab_and_the_attempt_is_stored(page, site, tmp_path):
    _, _env, root = site
    quiz_file = tmp_path / "browser quiz.json"
    _quiz_with_a_script(root, quiz_file)
    page.get_by_role("tab", name="Quiz").click()
    page.locator("#rb-quiz-upload input[type=file]").set_input_files(str(quiz_file))
    page.locator("#rb-quiz-picker-status").get_by_text("Added browser-quiz.json: 4 questions").wait_for(timeout=30_000)
    assert "browser-quiz: 4 questions" in page.locator("#rb-quiz-pick input").input_value()
    page.get_by_label("Your name").fill("Trainee <b>One</b>")
    page.get_by_role("button", name="Start quiz").click()
    page.locator("#rb-quiz-question").get_by_text("Question 1 of 4 · multiple choice").wait_for(timeout=30_000)

    page.locator("#rb-quiz-choice").get_by_text("B. 90 per cent").click()
    _submit(page, "✓ Correct")
    source = page.locator("#rb-quiz-source")
    assert "Source passage: ASEAN-ROK Security Cooperation in a Dual Contingency" in source.inner_text()
    assert "About 90 per cent of South Korea’s energy supplies" in source.locator("mark").inner_text()  # the source sentence, marked
    _next(page, "Next question", "Question 2 of 4 · true or false")
    page.locator("#rb-quiz-choice").get_by_text("True", exact=True).click()
    _submit(page, "✗ Wrong")
    assert "the brief says 2024, not 2019" in page.locator("#rb-quiz-feedback").inner_text()
    _next(page, "Next question", "Question 3 of 4 · short answer")
    page.get_by_label("Your answer").fill("a full strategic partnership")
    _submit(page, "½ Partly correct")
    _next(page, "Next question", "Question 4 of 4")
    assert "<script>window.__pwned=1</script> seven ships" in page.locator("#rb-quiz-question").inner_text()  # shown as text
    _submit(page, "– No answer")  # nothing chosen: skipped, no credit
    assert "seven ships in 2023" in page.locator("#rb-quiz-source").inner_text()
    _next(page, "See my score", "Your score: 1.5 / 4 (38%)")
    assert "Saved for Trainee <b>One</b>." in page.locator("#rb-quiz-score").inner_text()
    review = page.locator("#rb-quiz-review").inner_text()
    assert all(v in review for v in ("correct", "wrong", "partly correct", "no answer", "a full strategic partnership"))
    assert page.evaluate("() => window.__pwned") is None

    [attempt] = SqliteStore(root / "data" / "ragbot.sqlite3").attempts("browser-quiz")
    assert attempt.finished and attempt.trainee == "Trainee <b>One</b>" and (attempt.score, attempt.max_score) == (1.5, 4)
    assert [(a["response"], a["credit"]) for a in attempt.answers] == [
        ("90 per cent", 1.0), ("True", 0.0), ("a full strategic partnership", 0.5), ("", 0.0)
    ]  # fmt: skip


def test_quiz_files_are_checked_on_upload_found_in_the_data_folder_and_made_on_the_page(page, site, tmp_path):
    _, _env, root = site
    page.get_by_role("tab", name="Quiz").click()
    bad = tmp_path / "not a quiz.json"
    bad.write_text('{"questions": "none"}', encoding="utf-8")
    page.locator("#rb-quiz-upload input[type=file]").set_input_files(str(bad))
    status = page.locator("#rb-quiz-picker-status")
    status.get_by_text("not a quiz.json is not a valid quiz file").wait_for(timeout=30_000)
    assert "/tmp" not in status.inner_text()  # the upload's name, not the server's temporary path
    other = sample_quiz(load_index(root / "index"), "other-corpus")
    other.corpus_fingerprint = "0" * 16
    (root / "data" / "quizzes").mkdir(parents=True, exist_ok=True)
    other.save(root / "data" / "quizzes" / "other-corpus.json")  # dropped into the folder while serving
    page.get_by_role("tab", name="Chat").click()
    page.get_by_role("tab", name="Quiz").click()
    page.locator("#rb-quiz-pick input").click()
    page.get_by_role("option", name="other-corpus: 3 questions, 2026-11-22 12:00 (another corpus)").click()
    page.get_by_label("Your name").fill("Kim")
    page.get_by_role("button", name="Start quiz").click()
    page.locator("#rb-quiz-status").get_by_text("other-corpus.json was made from another corpus").wait_for(timeout=30_000)

    page.get_by_text("Make a new quiz from the briefs").click()
    page.get_by_role("button", name="Make quiz").click()
    made = status.get_by_text("It is selected below.")
    made.wait_for(timeout=120_000)
    name = status.inner_text().split("Made ", 1)[1].split(":", 1)[0]
    quiz = load_quiz(root / "data" / "quizzes" / name)
    assert f"{len(quiz.questions)} questions" in status.inner_text() and len(quiz.questions) >= 3
    assert page.locator("#rb-quiz-pick input").input_value().startswith(name.removesuffix(".json"))
    page.get_by_role("button", name="Start quiz").click()
    page.locator("#rb-quiz-question").get_by_text(f"Question 1 of {len(quiz.questions)}").wait_for(timeout=30_000)


@pytest.mark.parametrize(("user", "editor"), [(READER, False), (EDITOR, True)])
def test_a_reader_sees_no_library_controls_and_no_evaluation_tab(browser, deployment, user, editor):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(COUNT_COMPLETED)
    page.goto(deployment[0])
    page.get_by_label("username").fill(user[0])
    page.get_by_label("password").fill(user[1])
    page.get_by_role("button", name="Login").click()
    page.wait_for_function("() => window.__rbCompleted >= 2", timeout=60_000)  # both load events: the briefs, who may edit
    page.get_by_role("tab", name="Documents").click()
    page.locator("#rb-documents").wait_for(timeout=60_000)
    remove = page.get_by_role("button", name="Remove from library")
    if editor:  # shown once the page's load event knows the user
        remove.wait_for(state="visible", timeout=30_000)
        page.get_by_role("tab", name="Evaluation").click()
        assert page.get_by_role("button", name="Run evaluation").is_visible()
    else:  # the load event has answered: what it left hidden stays hidden (tests/test_roles.py checks its reply to a reader)
        assert not remove.is_visible() and not page.get_by_role("button", name="Add to library").is_visible()
        assert page.get_by_role("tab", name="Evaluation").count() == 0
    page.close()


@pytest.mark.parametrize("vector_store", ["faiss", "milvus"])
def test_two_replicas_share_one_library_and_one_postgres_store(vector_store, browser, tmp_path, embedder, postgres_server, request):
    """Two `ragbot serve` on one index folder, one PostgreSQL database (and one Milvus): an upload on one is answered by the other."""
    corpus = copy_small_corpus(tmp_path / "corpus")
    build_index(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder, progress=False, log=lambda _m: None)
    env = {"RAGBOT_CORPUS_DIR": str(corpus), "RAGBOT_INDEX_DIR": str(tmp_path / "index"), "RAGBOT_DATA_DIR": str(tmp_path / "data")}
    env["RAGBOT_STORE_URL"] = postgres_server.new_database()
    if vector_store == "milvus":  # both start at once on an empty database: one writes the briefs, the other waits for it
        env |= {"RAGBOT_VECTOR_STORE": "milvus", "RAGBOT_MILVUS_URI": new_database(request.getfixturevalue("milvus_uri"))}
    brief = tmp_path / "Reef survey 2026.md"
    brief.write_text("# Reef survey\n\nThe 2026 reef survey counted 412 coral species around Palawan.\n", encoding="utf-8")
    with running_server(env) as first, running_server(env) as second:
        one, two = browser.new_page(viewport={"width": 1280, "height": 900}), browser.new_page(viewport={"width": 1280, "height": 900})
        one.goto(first)
        one.get_by_role("tab", name="Documents").click()
        one.locator("#rb-upload input[type=file]").set_input_files(str(brief))
        one.get_by_role("button", name="Add to library").click()
        one.locator("#rb-library-status").get_by_text("Added Reef-survey-2026.md").wait_for(timeout=120_000)
        one.get_by_role("tab", name="Chat").click()
        two.goto(second)  # a page opened on the other replica after the upload offers the new brief
        two.locator(".label-wrap", has_text="Settings").click()
        two.get_by_text("Reef survey (").wait_for(timeout=30_000)
        for page, rating in ((two, "👍 Helpful"), (one, "👎 Not helpful")):  # the second replica first: it never saw the upload
            ask(page, "How many coral species did the 2026 reef survey count?")
            card = page.locator(".rb-card").first.inner_text()
            assert "412" in page.locator("[data-testid='bot']").last.inner_text() and "[1] Reef survey" in card, card
            page.get_by_text("Was this answer useful?").click()
            page.get_by_role("button", name=rating).click()
            page.get_by_text("Thank you: your feedback is saved.").wait_for(timeout=30_000)
        one.close()
        two.close()
    proc = ragbot("feedback", "export", cwd=tmp_path, env=env)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert proc.returncode == 0 and sorted(r["rating"] for r in rows) == ["-1", "1"]
    if vector_store == "milvus":  # Milvus holds the library as the index folder does, each brief once
        from ragbot.index.search.milvus_client import connect_client
        from ragbot.index.search.milvus_sync import MilvusSync

        settings = Settings(index_dir=tmp_path / "index", vector_store="milvus", milvus_uri=env["RAGBOT_MILVUS_URI"])
        index = load_index(settings.index_dir)
        store = MilvusSync(connect_client(settings), index, settings)
        assert "Reef-survey-2026.md" in index.document_rows and store.sync(log=lambda _m: None) == ([], [])
        assert store.held() == (3, len(index.passages), len(index.sentence_vectors))
