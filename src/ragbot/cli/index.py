"""`ragbot index`: build or refresh the index from the corpus folder; `--to milvus` copies it as built into Milvus."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ragbot.cli.common import index_option, settings_of, show_progress, usage
from ragbot.errors import RagbotError


def add_parser(commands: Any) -> None:
    s = commands.add_parser(
        "index",
        parents=[index_option()],
        help="build or refresh the index from the corpus folder",
        description="Embed the corpus into index/; only changed files are re-embedded. --to milvus copies the index as built into Milvus.",
    )
    s.add_argument("--corpus", type=Path, help="folder of .txt/.md briefs (default: corpus/)")
    s.add_argument("--rebuild", action="store_true", help="re-embed everything, ignoring the existing index")
    s.add_argument(
        "--to",
        choices=["milvus"],
        help="copy the index as built into Milvus (no re-embedding, the index folder unchanged); saves no setting",
    )
    s.add_argument(
        "--milvus-uri", metavar="URI", help="with --to milvus: http://host:19530 or a Milvus Lite .db path (default: milvus_uri setting)"
    )


def run(args: argparse.Namespace) -> int:
    from ragbot.corpus.folder import corpus_state
    from ragbot.index.changes import diff_corpus
    from ragbot.index.reader import load_index, read_manifest
    from ragbot.index.search.factory import open_search_store
    from ragbot.index.writer import build_index, remove_leftovers
    from ragbot.models.embedder import embedder_for

    if args.milvus_uri is not None and not args.to:
        usage("index", "--milvus-uri goes with --to milvus (to search Milvus, set vector_store and milvus_uri)")
    if args.to:
        return to_milvus(args)
    settings = settings_of(args)
    state = corpus_state(settings.corpus_dir)  # fails on a missing or empty folder before loading the model
    if not args.rebuild and not diff_corpus(read_manifest(settings.index_dir), state, settings).stale:
        index = load_index(settings.index_dir)  # verifies every artifact's checksum
        remove_leftovers(settings.index_dir)  # files of a build killed after its switch
        open_search_store(index, settings)  # vector_store milvus: Milvus brought up to date with the index too
        print(f"index in {settings.index_dir}/ is up to date", file=sys.stderr)
        return 0
    embedder = embedder_for(settings)
    index, _ = build_index(settings, embedder, rebuild=args.rebuild, progress=show_progress())
    open_search_store(index, settings)  # vector_store milvus: the changed documents' rows written to (or deleted from) Milvus
    return 0


def to_milvus(args: argparse.Namespace) -> int:
    """`ragbot index --to milvus`: the local index, as built, written into Milvus; what was written and what to set."""
    from ragbot.index.search.milvus_client import milvus_uri
    from ragbot.index.search.milvus_sync import migrate
    from ragbot.urls import hide_password

    if args.rebuild or args.corpus:
        usage("index", "--to milvus copies the index as built, without reading the corpus: run `ragbot index` first, then --to milvus")
    configured = settings_of(args)
    settings = configured
    if args.milvus_uri is not None:
        settings = configured.model_copy(update={"milvus_uri": args.milvus_uri})
        try:
            milvus_uri(settings)
        except RagbotError as exc:
            usage("index", f"--milvus-uri: {exc}")
    done = migrate(settings)
    folder = f"{settings.index_dir}/"
    if done.written or done.removed:
        removed = f"; removed {len(done.removed)} briefs no longer in the index" if done.removed else ""
        print(f"wrote {len(done.written)} briefs ({done.passages} passages, {done.sentences} sentences) from {folder} into Milvus at "
              f"{done.uri} in {done.seconds:.1f} s, without re-embedding{removed}; {folder} is unchanged", file=sys.stderr)  # fmt: skip
    else:
        print(f"Milvus at {done.uri} already held the index in {folder}: nothing written", file=sys.stderr)
    print(f"Milvus now holds the whole index: {done.briefs_held} briefs, {done.passages_held} passages, {done.sentences_held} sentences",
          file=sys.stderr)  # fmt: skip
    if configured.vector_store == "milvus" and configured.milvus_uri == settings.milvus_uri:
        print("vector_store is already milvus at this milvus_uri: ragbot answers from Milvus", file=sys.stderr)
    else:
        uri = hide_password(settings.milvus_uri)
        where = f' and milvus_uri = "{uri}"' if uri else ""
        env = f" RAGBOT_MILVUS_URI={uri}" if uri else ""
        print(f'no setting was changed: to answer from Milvus, set vector_store = "milvus"{where} in ragbot.toml '
              f"(or RAGBOT_VECTOR_STORE=milvus{env})", file=sys.stderr)  # fmt: skip
    return 0
