"""The tutorial recipes users start from, as baselines: 1000/200-character chunks, dense retrieval, top 4.

``naive`` answers with ragbot's extractive engine over that index; ``naive-llm`` is LangChain's RAG
tutorial whole: the same chunks, the same LLM as ragbot, the tutorial's "use the following pieces
of retrieved context" prompt, and no verification or abstention of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ragbot.answer import Answer, Citation, Event, Final, Retrieval, Token, Turn
from ragbot.chunking import Passage, split_sentences
from ragbot.corpus.folder import load_corpus
from ragbot.evaluation.metrics import says_dont_know
from ragbot.index.reader import Index
from ragbot.models.embedder import Embedder
from ragbot.models.tokens import count_tokens
from ragbot.settings import Settings

BASELINES = ("naive", "naive-llm")
NAIVE_SETTINGS: dict[str, Any] = {"retriever": "dense", "answer_passages": 4, "embed_title": False}
# LangChain's RAG tutorial prompt (the "rlm/rag-prompt" of its hub), word for word.
TUTORIAL_PROMPT = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved context to answer the question. "
    "If you don't know the answer, just say that you don't know. Use three sentences maximum and keep the answer concise.\n"
    "Question: {question} \nContext: {context} \nAnswer:"
)


def naive_index(settings: Settings, embedder: Embedder) -> Index:
    """Raw file text split by RecursiveCharacterTextSplitter(1000, 200); chunks embedded as they are."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    passages = []
    documents = {}
    for doc in load_corpus(settings.corpus_dir):
        documents[doc.doc_id] = doc.metadata()
        for n, chunk in enumerate(splitter.create_documents([doc.raw])):
            start = int(chunk.metadata["start_index"])
            text = chunk.page_content
            spans = tuple(split_sentences(text)) or ((0, len(text)),)
            passages.append(
                Passage(
                    f"{doc.doc_id}#naive-{n:03d}", doc.doc_id, doc.title, None, start, start + len(text), count_tokens(text), text, spans
                )
            )
    vectors = embedder.encode([p.text for p in passages])  # MiniLM cuts each chunk at 256 word pieces, as in the tutorial
    sentence_vectors = embedder.encode([s for p in passages for s in p.sentence_texts()])
    manifest = {"baseline": "naive", "documents": documents, "counts": {"passages": len(passages)}}
    return Index.from_arrays(manifest, passages, vectors, sentence_vectors, settings)


class NaiveLLMEngine:
    """The tutorial's chain: the top 4 chunks stuffed into its prompt, the model's reply shown as it is, the chunks as sources."""

    name = "naive-llm"

    def __init__(self, model: Any, passages: int = 4) -> None:
        self.model, self.passages = model, passages

    def stream(self, retrieval: Retrieval) -> Iterator[Event]:
        start = time.perf_counter()
        hits = retrieval.hits[: self.passages]
        context = "\n\n".join(h.passage.text for h in hits)
        text, first_token = "", None
        for chunk in self.model.stream([("human", TUTORIAL_PROMPT.format(question=retrieval.question, context=context))]):
            piece = chunk.content if isinstance(chunk.content, str) else ""
            if piece:
                first_token = first_token or time.perf_counter()
                text += piece
                yield Token(piece)
        text = " ".join(text.split())
        dont_know = says_dont_know(text)
        citations = [] if dont_know else [Citation(i, h.passage, h.passage.text) for i, h in enumerate(hits, 1)]
        answer = Answer(retrieval.question, text, "abstained" if dont_know else "answered", citations, retrieval.hits, engine=self.name)
        answer.generated = text
        answer.timings_ms["generate"] = (time.perf_counter() - start) * 1000
        if first_token is not None:
            answer.timings_ms["first_token"] = (first_token - start) * 1000
        yield Final(answer)

    def run(self, retrieval: Retrieval) -> Answer:
        return Turn.of(self.stream(retrieval)).answer

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str | None:
        """The tutorial has no conversation: follow-ups are joined by rule."""
        return None


def baseline_pipeline(name: str, settings: Settings) -> Any:
    """The named baseline as a Pipeline over its own naive index, on the same embedder (and LLM) as ragbot."""
    from ragbot.chain import Pipeline
    from ragbot.models.embedder import load_embedder

    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose from: {', '.join(BASELINES)}")
    naive = settings.model_copy(update=NAIVE_SETTINGS)
    embedder = load_embedder(naive.embed_model, naive.threads, naive.embed_batch_size, runtime="torch")  # as the tutorial does
    index, encoder = naive_index(naive, embedder), embedder
    if name == "naive-llm":
        from ragbot.engines.chat_model import chat_model

        return Pipeline(naive, index, encoder, {naive.engine: NaiveLLMEngine(chat_model(naive))})
    return Pipeline(naive, index, encoder)
