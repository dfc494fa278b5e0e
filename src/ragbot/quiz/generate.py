"""Quiz questions from the briefs without an LLM: a key fact of a sentence (a year, a number, a country,
a name with its acronym) becomes the answer; distractors are facts of the same kind found elsewhere in the corpus.
Every question is validated before it is kept."""

from __future__ import annotations

import random
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ragbot.chain import Pipeline
from ragbot.chunking import Passage
from ragbot.errors import RagbotError
from ragbot.quiz.model import QUESTION_TYPES, Question, Quiz, Source, corpus_fingerprint

_COUNTRIES = [
    "Australia",
    "Brunei",
    "Cambodia",
    "Canada",
    "China",
    "France",
    "Germany",
    "India",
    "Indonesia",
    "Japan",
    "Laos",
    "Malaysia",
    "Mongolia",
    "Myanmar",
    "Philippines",
    "Russia",
    "Singapore",
    "Taiwan",
    "Thailand",
    "Vietnam",
    "Bangladesh",
    "Pakistan",
]
_FACTS = {
    "year": re.compile(r"(?<![.\d])\b(?:19[5-9]\d|20[0-4]\d)\b(?![-–.]\d)"),
    "number": re.compile(r"\b\d+(?:\.\d+)? ?(?:per cent|percent|%)|\b\d{1,3}(?:,\d{3})+\b|\b(?<![-–.])\d{2,3}\b(?![-–.,]\d)"),
    "country": re.compile(r"\b(?:" + "|".join(sorted(_COUNTRIES, key=len, reverse=True)) + r")\b"),
    "organisation": re.compile(r"\b(?:[A-Z][A-Za-z'’-]+ )(?:(?:of|for|and|on|the|[A-Z][A-Za-z'’-]+) ){1,7}\((?:[A-Z][A-Za-z+-]{1,10})\)"),
}
# A name with its acronym, "Name (ACR)", is an organisation, a policy or agreement, or (neither) a name, by its words;
# its distractors are names of the same kind, so a policy is never offered among organisations.
_ORGANISATION_WORDS = {"Academy", "Agency", "Association", "Bank", "Centre", "Center", "Committee", "Council", "Forum", "Group",
                       "Groups", "Institute", "Meeting", "Ministry", "Nations", "School", "Secretariat", "Summit"}  # fmt: skip
_POLICY_WORDS = {"Act", "Agreement", "Collaboration", "Declaration", "Framework", "Initiative", "Outlook", "Partnership",
                 "Partnerships", "Plan", "Platform", "Policy", "Programme", "Strategy", "Treaty", "Vision"}  # fmt: skip
_KIND_WORD = {"year": "year", "number": "figure", "country": "country", "organisation": "organisation", "policy": "policy or agreement",
              "name": "name"}  # fmt: skip
# A "name" is neither an organisation nor a policy: names are too unlike each other to be options or swapped into a
# statement ("a 'Republic of Korea (ROK)'" for a policy), so a name is only asked as a short answer.
_SHORT_ONLY = {"name"}
# Between two items of a list: "Laos, Myanmar, Cambodia and Vietnam" blanks none of them (any could fill the gap).
# Names a country can be listed with that are not quiz answers themselves ("the US and _____" is a list too).
_PEERS = re.compile(r"\b(?:US|U\.S\.|United States|UK|EU|South Korea|North Korea|Korea|ASEAN)\b")
# Sections and sentences about the authors or the publisher: trivia, not what the brief says.
_ABOUT = re.compile(r"biograph|^about\b|^notes$", re.IGNORECASE)
# A reference ("Source: ..., December 11, 2012, accessed from ..."), not a statement of the brief's.
_REFERENCE = re.compile(r"^\W*sources?\s*:|\bdoi\s*:|\baccessed (?:from|on)\b|https?://|\bwww\.|\bpp?\.\s*\d", re.IGNORECASE)
_PAIR_GAP = re.compile(r",?\s+(?:and|or)\s+(?:the\s+)?")
_LIST_GAP = re.compile(r"\s*,\s*(?:(?:and|or)\s+)?(?:the\s+)?|\s+(?:and|or)\s+(?:the\s+)?")
BLANK = "_____"
CONTEXT_WORDS = 3  # words either side of the key that a distractor must not be found between
_WORD = re.compile(r"[\w%+’'-]+")
_QUOTED = re.compile(r"“(.+)” \(")  # the source sentence in an explanation: “sentence” (title, section)
_ASKED = re.compile(r"“([^“]+)”$")  # the statement a question ends with
_CHANGED = re.compile(r"False: the brief says (.+?), not (.+?)\. “")


@dataclass(frozen=True)
class Fact:
    kind: str
    value: str
    passage: Passage
    sentence: str
    start: int  # of the value within the sentence


@dataclass
class Generated:
    quiz: Quiz
    candidates: int  # questions drafted
    dropped: int  # drafted questions that failed validation


def _acronym_name(value: str, start: int) -> tuple[str, str, int] | None:
    """(kind, name, start) for "Name (ACR)": the name starts at the first word with the acronym's initial
    ("ASEAN and the Republic of Korea (ROK)" is "Republic of Korea (ROK)"); None if no word has it."""
    name, acronym = value[: value.rindex(" (")], value[value.rindex(" (") + 2 : -1]
    if any(q in name for q in '‘’“”"'):
        return None  # a quotation mark inside: the name's edges are unclear
    words = name.split(" ")
    first = next((i for i, w in enumerate(words) if w[:1] == acronym[:1].upper()), None)
    if first is None:
        return None
    trimmed = " ".join(words[first:])
    kind = "organisation" if _ORGANISATION_WORDS & set(words[first:]) else "policy" if _POLICY_WORDS & set(words[first:]) else "name"
    return kind, f"{trimmed} ({acronym})", start + len(name) - len(trimmed)


def _in_a_list(sentence: str, start: int, end: int, others: list[re.Match[str]]) -> bool:
    """Whether the value at start:end is one item of a list of its kind (only a comma, "and" or "or" between);
    next to a peer name ("the US") only "and" or "or" make a list ("Excluding China, ASEAN ..." is not one)."""
    for o in others:
        gap = sentence[end : o.start()] if o.start() >= end else sentence[o.end() : start] if o.end() <= start else None
        if gap is not None and (_PAIR_GAP if o.re is _PEERS else _LIST_GAP).fullmatch(gap):
            return True
    return False


def _about_people(documents: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Per document, lower-case names that mark a section or sentence as about its authors: names, "dr surname"."""
    names: dict[str, list[str]] = {}
    for doc_id, meta in documents.items():
        for author in meta.get("authors") or []:
            words = author.lower().split()
            names.setdefault(doc_id, []).extend([" ".join(words)] + [f"{t} {w}" for w in {words[0], words[-1]} for t in ("dr", "dr.")])
    return names


def find_facts(passages: list[Passage], documents: dict[str, dict[str, Any]] | None = None) -> list[Fact]:
    """Facts of each passage's sentences; notes, author biographies and "About ..." sections are skipped."""
    people = _about_people(documents or {})
    facts = []
    for p in passages:
        names = people.get(p.doc_id, [])
        if _ABOUT.search(p.section or "") or (p.section or "").lower() in names:
            continue
        for sentence in p.sentence_texts():
            if not 60 <= len(sentence) <= 320 or _REFERENCE.search(sentence) or any(name in sentence.lower() for name in names):
                continue
            for kind, pattern in _FACTS.items():
                matches = list(pattern.finditer(sentence))
                if kind == "country":
                    matches += list(_PEERS.finditer(sentence))
                for m in (m for m in matches if m.re is pattern):
                    if kind == "number" and _FACTS["year"].fullmatch(m.group(0)):
                        continue
                    if sentence.count(m.group(0)) > 1 or _in_a_list(sentence, m.start(), m.end(), matches):
                        continue  # blanking or changing one of two mentions, or one item of a list, would be ambiguous
                    fact_kind, value, start = kind, m.group(0), m.start()
                    if kind == "organisation":
                        named = _acronym_name(value, start)
                        if named is None:
                            continue
                        fact_kind, value, start = named
                    facts.append(Fact(fact_kind, value, p, sentence, start))
    return facts


def _blanked(f: Fact) -> str:
    return f.sentence[: f.start] + BLANK + f.sentence[f.start + len(f.value) :]


def _year_distance(a: str, b: str) -> int:
    return abs(int(a) - int(b)) if a.isdigit() and b.isdigit() else 0


def _acronym(value: str) -> str:
    return value[value.rindex("(") + 1 : -1].lower().removesuffix("s") if value.endswith(")") and "(" in value else ""


def _same(a: str, b: str) -> bool:
    """Two values that could both be right: one inside the other ("CSP" and "ASEAN-Korea CSP") or one acronym."""
    a, b = a.lower(), b.lower()
    return a in b or b in a or (bool(_acronym(a)) and _acronym(a) == _acronym(b))


def _shape(number: str) -> str:
    return "percent" if re.search(r"%|per ?cent", number) else "thousands" if "," in number else "plain"


def _distractors(fact: Fact, pool: dict[str, list[str]], rng: random.Random, n: int = 3) -> list[str]:
    """Values of the same kind from elsewhere in the corpus, absent from the source passage and never another form of the key."""
    options = sorted({v for v in pool[fact.kind] if not _same(v, fact.value) and v.lower() not in fact.passage.text.lower()})
    if fact.kind == "number":  # a percentage for a percentage, a plain figure for a plain figure
        options = [v for v in options if _shape(v) == _shape(fact.value)]
    if fact.kind == "year":
        options = sorted(options, key=lambda v: (_year_distance(v, fact.value), v))[: n * 3]
    rng.shuffle(options)
    return options[:n]


def _draft(fact: Fact, qtype: str, pool: dict[str, list[str]], rng: random.Random) -> Question | None:
    src = Source(fact.passage.passage_id, fact.passage.doc_id, fact.passage.title, fact.passage.text)
    section = fact.passage.section if fact.passage.section not in (None, fact.passage.title) else None
    explanation = f"“{fact.sentence}” ({fact.passage.title}{', ' + section if section else ''})"
    qid = uuid.UUID(int=rng.getrandbits(128)).hex[:10]
    statement = _blanked(fact)
    if qtype != "short" and fact.kind in _SHORT_ONLY:
        return None
    if qtype == "mcq":
        wrong = _distractors(fact, pool, rng)
        if len(wrong) < 3:
            return None
        options = [fact.value, *wrong]
        rng.shuffle(options)
        text = f"In “{fact.passage.title}”, which {_KIND_WORD[fact.kind]} completes this statement? “{statement}”"
        return Question(qid, "mcq", text, fact.value, explanation, src, options, fact.kind)
    if qtype == "short":
        text = f"Fill in the blank ({_KIND_WORD[fact.kind]}), from “{fact.passage.title}”: “{statement}”"
        return Question(qid, "short", text, fact.value, explanation, src, None, fact.kind)
    # true/false: half the statements are changed in a checkable way (another year, country, figure or body)
    if rng.random() < 0.5:
        return Question(qid, "truefalse", f"True or false? According to “{fact.passage.title}”: “{fact.sentence}”", "True",
                        explanation, src, None, fact.kind)  # fmt: skip
    wrong = _distractors(fact, pool, rng, 1)
    if not wrong:
        return None
    changed = fact.sentence[: fact.start] + wrong[0] + fact.sentence[fact.start + len(fact.value) :]
    return Question(qid, "truefalse", f"True or false? According to “{fact.passage.title}”: “{changed}”", "False",
                    f"False: the brief says {fact.value}, not {wrong[0]}. {explanation}", src, None, fact.kind)  # fmt: skip


def corpus_words(pipeline: Pipeline) -> str:
    """Every passage as one line of lower-case words, to find a phrase anywhere in the corpus."""
    return "\n".join(f" {' '.join(_words(p.text))} " for p in pipeline.index.passages)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _stated(value: str, left: str, right: str, corpus: str) -> bool:
    """Whether the corpus says value next to the words that surround the key in its sentence."""
    before, after = _words(left)[-CONTEXT_WORDS:], _words(right)[:CONTEXT_WORDS]
    phrases = ([before + _words(value)] if len(before) >= 2 else []) + ([_words(value) + after] if len(after) >= 2 else [])
    return any(f" {' '.join(words)} " in corpus for words in phrases)


def _parts(q: Question) -> tuple[str, str, str, list[str], str] | None:
    """(source sentence, text before and after the key, other values offered, the statement alone) of a generated question."""
    quoted, asked = _QUOTED.search(q.explanation), _ASKED.search(q.question)
    if quoted is None or asked is None:
        return None
    sentence, statement = quoted.group(1), asked.group(1)
    if q.type != "truefalse":
        if statement.count(BLANK) != 1:
            return None
        left, right = statement.split(BLANK)
        return sentence, left, right, [o for o in q.options or [] if o != q.answer], f"{left} {right}"
    changed = _CHANGED.match(q.explanation)
    if changed is None:  # a true statement: the sentence itself, nothing else offered
        return sentence, "", "", [], statement
    instead = changed.group(2)
    if statement.count(instead) != 1:
        return None
    left, right = statement.split(instead)
    return sentence, left, right, [instead], statement


def validate(q: Question, pipeline: Pipeline, corpus: str | None = None) -> bool:
    """The key is in its passage and no distractor is; no other value offered (a distractor, the changed fact) is
    said anywhere in the corpus between the key's neighbouring words; the statement alone, without the title, the
    question's wording or the key, retrieves first a passage that says the source sentence."""
    text = q.source.text.lower()
    key = q.answer if q.type != "truefalse" else None
    if key is not None and key.lower() not in text:
        return False
    if q.options and any(o.lower() in text for o in q.options if o != q.answer):
        return False
    parts = _parts(q)
    if parts is None:  # not worded by this module: the question retrieves its passage in the top 5
        hits = pipeline.retriever.run(q.question.replace(BLANK, " "), k=5).hits
        return any(h.passage.passage_id == q.source.passage_id for h in hits)
    sentence, left, right, others, statement = parts
    corpus = corpus_words(pipeline) if corpus is None else corpus
    if any(_stated(other, left, right, corpus) for other in others):
        return False
    top = pipeline.retriever.run(statement, k=1).hits
    return bool(top) and sentence in top[0].passage.text


def generate(
    pipeline: Pipeline, n: int = 10, types: tuple[str, ...] = QUESTION_TYPES, docs: set[str] | None = None, seed: int = 0
) -> Generated:
    """n validated questions spread over documents and sections, never the same fact twice; same seed, same quiz."""
    if n < 1 or n > 200:
        raise RagbotError(f"a quiz has 1 to 200 questions, not {n}")
    if not types or any(t not in QUESTION_TYPES for t in types):
        raise RagbotError(f"question types are {', '.join(QUESTION_TYPES)}")
    known = set(pipeline.index.documents)
    if docs and docs - known:
        raise RagbotError(f"not in the library: {', '.join(sorted(docs - known))}")
    passages = [p for p in pipeline.index.passages if not docs or p.doc_id in docs]
    facts = find_facts(passages, pipeline.index.documents)
    pool: dict[str, list[str]] = defaultdict(list)
    for f in find_facts(pipeline.index.passages, pipeline.index.documents):
        pool[f.kind].append(f.value)
    corpus = corpus_words(pipeline)
    rng = random.Random(seed)
    # Round-robin over (document, section) so the quiz covers the briefs, not one paragraph.
    groups: dict[tuple[str, str | None], list[Fact]] = defaultdict(list)
    for f in facts:
        groups[(f.passage.doc_id, f.passage.section)].append(f)
    order = sorted(groups, key=lambda k: (k[0], k[1] or ""))
    rng.shuffle(order)
    for key in order:
        rng.shuffle(groups[key])
    questions: list[Question] = []
    used_values: set[str] = set()
    used_sentences: set[str] = set()
    drafted = dropped = 0
    while len(questions) < n and any(groups.values()):
        for key in order:
            if len(questions) == n or not groups[key]:
                continue
            fact = groups[key].pop()
            if fact.value.lower() in used_values or fact.sentence in used_sentences:
                continue
            q = _draft(fact, types[(drafted) % len(types)], pool, rng)
            if q is None:
                continue
            drafted += 1
            if not validate(q, pipeline, corpus):
                dropped += 1
                continue
            used_values.add(fact.value.lower())
            used_sentences.add(fact.sentence)
            questions.append(q)
    if not questions:
        raise RagbotError("no question could be made from these documents")
    quiz = Quiz(uuid.UUID(int=rng.getrandbits(128)).hex[:12], datetime.now(UTC).isoformat(timespec="seconds"),
                corpus_fingerprint(pipeline.index.documents), questions)  # fmt: skip
    return Generated(quiz, drafted, dropped)
