from __future__ import annotations

import re
from collections import Counter
from types import SimpleNamespace

import pytest

from ragbot.chunking import Passage
from ragbot.errors import RagbotError
from ragbot.quiz.generate import _COUNTRIES, _same, _shape, find_facts, generate, validate
from ragbot.quiz.model import Question, Source

ORGANISATION = re.compile(r"\([A-Z][A-Za-z+-]{1,10}\)$")


@pytest.fixture(scope="module")
def generated(pipeline):
    return generate(pipeline, n=15, seed=7)


def test_n_questions_of_each_requested_type_all_valid(generated, pipeline):
    quiz = generated.quiz
    assert len(quiz.questions) == 15
    assert Counter(q.type for q in quiz.questions) == {"mcq": 5, "short": 5, "truefalse": 5}
    for q in quiz.questions:
        assert validate(q, pipeline), q.question
        if q.type != "truefalse":
            assert q.answer.lower() in q.source.text.lower()
        assert q.source.passage_id in {p.passage_id for p in pipeline.index.passages}
    assert generated.candidates >= 15 and generated.candidates == 15 + generated.dropped


def test_spread_over_briefs_and_never_the_same_fact_twice(generated):
    questions = generated.quiz.questions
    assert len({q.source.doc_id for q in questions}) >= 4
    keys = [(q.kind, q.answer.lower()) for q in questions if q.type != "truefalse"]
    assert len(keys) == len(set(keys))
    assert len({q.explanation for q in questions}) == len(questions)


def test_distractors_are_of_the_answers_kind_and_never_correct(generated, pipeline):
    kind_of = {f.value: f.kind for f in find_facts(pipeline.index.passages)}
    for q in (q for q in generated.quiz.questions if q.type == "mcq"):
        assert len(q.options) == 4 and q.answer in q.options and len(set(q.options)) == 4
        wrong = [o for o in q.options if o != q.answer]
        assert all(o.lower() not in q.source.text.lower() and not _same(o, q.answer) for o in wrong)
        if q.kind in ("organisation", "policy"):  # a policy is never offered among organisations, nor the reverse
            assert {kind_of[o] for o in q.options} == {q.kind}
        if q.kind == "year":
            assert all(re.fullmatch(r"(19|20)\d\d", o) for o in q.options)
        elif q.kind == "country":
            assert all(o in _COUNTRIES for o in q.options)
        elif q.kind in ("organisation", "policy", "name"):
            assert all(ORGANISATION.search(o) for o in q.options)
        elif q.kind == "number":  # a percentage among percentages, a plain figure among plain figures
            assert all(re.search(r"\d", o) for o in q.options) and len({_shape(o) for o in q.options}) == 1
    assert all(q.kind != "name" for q in generated.quiz.questions if q.type != "short")  # names only as short answers


def test_false_statements_change_one_checkable_fact(generated):
    false = [q for q in generated.quiz.questions if q.type == "truefalse" and q.answer == "False"]
    for q in false:
        said, instead = re.match(r"False: the brief says (.+?), not (.+?)\. ", q.explanation).groups()
        assert said.lower() in q.source.text.lower() and instead.lower() not in q.source.text.lower()
        assert instead in q.question and said not in q.question.split("”: “", 1)[1]


def test_same_seed_same_quiz_other_seed_other_quiz(pipeline, generated):
    again = generate(pipeline, n=15, seed=7).quiz
    assert [q.to_dict() for q in again.questions] == [q.to_dict() for q in generated.quiz.questions]
    assert again.quiz_id == generated.quiz.quiz_id
    other = generate(pipeline, n=15, seed=8).quiz
    assert [q.question for q in other.questions] != [q.question for q in generated.quiz.questions]


def test_selected_briefs_and_types(pipeline):
    doc = "2024-03_asan_korea-asean-defence-cooperation-admm.txt"
    quiz = generate(pipeline, n=4, types=("mcq",), docs={doc}, seed=1).quiz
    assert quiz.questions and all(q.type == "mcq" and q.source.doc_id == doc for q in quiz.questions)


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"n": 0}, "1 to 200"), ({"types": ("essay",)}, "question types"), ({"docs": {"x.txt"}}, "not in the library")]
)
def test_bad_requests_are_clear_errors(pipeline, kwargs, message):
    with pytest.raises(RagbotError, match=message):
        generate(pipeline, **kwargs)


def test_cli_writes_a_quiz_file(tmp_path, index, settings):
    from ragbot.quiz.model import corpus_fingerprint, load_quiz

    from ..conftest import ROOT
    from ..test_cli import ragbot

    out = tmp_path / "quiz.json"
    proc = ragbot("quiz", "generate", "--n", "4", "--types", "mcq,truefalse", "--seed", "2", "--out", str(out), cwd=ROOT,
                  env={"RAGBOT_INDEX_DIR": str(settings.index_dir)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}: 4 questions (2 mcq, 2 truefalse)" in proc.stderr
    quiz = load_quiz(out, corpus_fingerprint(index.documents))
    assert [q.type for q in quiz.questions].count("mcq") == 2


def _passage(text: str, section: str = "Intro") -> Passage:
    return Passage("d.txt#1", "d.txt", "A brief", section, 0, len(text), 40, text, ((0, len(text)),))


def test_facts_skip_list_items_and_name_what_the_acronym_stands_for():
    listed = "Countries like Laos, Myanmar, Cambodia and Vietnam have grown fast in the decade since the crisis."
    assert [f.kind for f in find_facts([_passage(listed)])] == []
    pair = "Furthermore, most of the respondents see the US and China as on a collision course in the region."
    assert [f.kind for f in find_facts([_passage(pair)])] == []
    not_a_list = "Excluding China, ASEAN countries have the most intensive interactions with South Korea today."
    assert [f.value for f in find_facts([_passage(not_a_list)])] == ["China"]
    reference = "Source: Ministry of National Defense, 2012 Defense White Paper, December 11, 2012, accessed from www.mnd.go.kr."
    assert find_facts([_passage(reference)]) == []
    quoted = "It is pursued under the strategy of promoting a ‘Northeast Asia Plus Community for Peace’ (NEAPC) in the region."
    assert find_facts([_passage(quoted)]) == []
    text = "In 2019 ASEAN and the Republic of Korea (ROK) signed a plan with the ASEAN Regional Forum (ARF) as its venue."
    facts = {f.value: f for f in find_facts([_passage(text)])}
    kinds = {"2019": "year", "Republic of Korea (ROK)": "name", "ASEAN Regional Forum (ARF)": "organisation"}
    assert {v: f.kind for v, f in facts.items()} == kinds
    for f in facts.values():
        assert text[f.start : f.start + len(f.value)] == f.value
    policy = "Seoul announced the New Southern Policy (NSP) in November 2017 to deepen its ties with the region."
    assert {f.value: f.kind for f in find_facts([_passage(policy)])} == {"New Southern Policy (NSP)": "policy", "2017": "year"}
    assert _same("Comprehensive Strategic Partnership (CSP)", "ASEAN-Korea Comprehensive Strategic Partnership (CSP)")
    assert _same("Comprehensive Strategic Partnerships (CSPs)", "The Comprehensive Strategic Partnership (CSP)")
    assert not _same("New Southern Policy (NSP)", "New Northern Policy (NNP)")


SENTENCE = "The two sides first set up a sectoral dialogue partnership in 1989 after long talks."


def _stub(source: Passage, other: Passage, first: Passage) -> SimpleNamespace:
    """A pipeline whose retriever ranks `first` on top, over a corpus of two passages."""
    hit = SimpleNamespace(hits=[SimpleNamespace(passage=first)])
    return SimpleNamespace(index=SimpleNamespace(passages=[source, other]), retriever=SimpleNamespace(run=lambda q, k: hit))


def test_validation_drops_a_distractor_said_elsewhere_where_the_key_stands_and_a_statement_that_finds_another_passage():
    source = _passage(f"Background. {SENTENCE} More text.")
    src = Source(source.passage_id, source.doc_id, source.title, source.text)
    why = f"“{SENTENCE}” (A brief, Intro)"
    blanked = SENTENCE.replace("1989", "_____")
    mcq = Question("q", "mcq", f"In “A brief”, which year completes this statement? “{blanked}”", "1989", why, src,
                   ["1989", "1991", "2004", "2010"], "year")  # fmt: skip
    changed = Question("t", "truefalse", f"True or false? According to “A brief”: “{SENTENCE.replace('1989', '2004')}”", "False",
                       f"False: the brief says 1989, not 2004. {why}", src, None, "year")  # fmt: skip
    elsewhere = _passage("Another brief says ASEAN set up a sectoral dialogue partnership in 1991 with India.")
    unrelated = _passage("Another brief says India became a full partner in 1996.")
    assert validate(mcq, _stub(source, unrelated, source)) and validate(changed, _stub(source, unrelated, source))
    assert not validate(mcq, _stub(source, elsewhere, source))  # "dialogue partnership in 1991": 1991 fits the blank too
    assert validate(changed, _stub(source, elsewhere, source))  # the changed fact, 2004, is said nowhere
    assert not validate(changed, _stub(source, _passage("A sectoral dialogue partnership in 2004 followed."), source))
    assert not validate(mcq, _stub(source, unrelated, unrelated))  # the statement alone finds another passage first


def test_facts_skip_what_is_about_the_authors_or_the_publisher():
    fact = "Seoul hosted the first meeting with Vietnam in 1998, which set the agenda for a decade of talks."
    documents = {"d.txt": {"authors": ["Lee Jaehyon"]}}
    assert len(find_facts([_passage(fact)], documents)) == 2
    for section in ("Author's Biography", "About the Institute", "Lee Jaehyon", "Notes"):
        assert find_facts([_passage(fact, section)], documents) == [], section
    bio = "Dr. Lee received a B.A. from Yonsei University in 1998 and a Ph.D. from Murdoch University, Australia."
    assert find_facts([_passage(bio)], documents) == []
