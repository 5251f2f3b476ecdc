"""The LlamaIndex adapter on both backends: nodes in and out, the three query modes (and
MMR), filter translation, and use inside a ``VectorStoreIndex``."""

from __future__ import annotations

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from agent_brain import Chunk, create_backend
from agent_brain.config import AgentBrainConfig
from agent_brain.embedders import HashingEmbedder
from agent_brain.errors import FilterError, InvalidInputError
from agent_brain.filters import compile_predicate, parse_filter
from agent_brain.integrations._llama_filters import translate_filters
from agent_brain.integrations.llama_index import AgentBrainEmbedding, AgentBrainVectorStore
from tests.integrations.conftest import DIM

EMBEDDER = HashingEmbedder(DIM)

TEXTS = {
    "volcano": "Volcanoes erupt molten lava and ash over the island.",
    "glacier": "Glaciers melt slowly and carve deep valleys in the mountains.",
    "python": "Python is a programming language with a large standard library.",
    "rust": "Rust is a systems programming language focused on memory safety.",
    "lava": "Lava lakes glow red inside an active volcano crater.",
    "ocean": "Ocean currents move heat from the equator toward the poles.",
}


def node(node_id: str, text: str, *, doc: str | None = None, embed: bool = True,
         **metadata: object) -> TextNode:
    n = TextNode(id_=node_id, text=text, metadata=dict(metadata))
    if doc is not None:
        n.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc)
    if embed:
        n.embedding = EMBEDDER.embed_one(text)
    return n


def corpus() -> list[TextNode]:
    return [node(k, v, doc=f"doc-{i % 2}", topic="geo" if i in (0, 1, 4, 5) else "cs",
                 order=i) for i, (k, v) in enumerate(TEXTS.items())]


def vq(text: str, mode: VectorStoreQueryMode = VectorStoreQueryMode.DEFAULT,
       top_k: int = 3, **kw: object) -> VectorStoreQuery:
    return VectorStoreQuery(query_str=text, query_embedding=EMBEDDER.embed_one(text),
                            similarity_top_k=top_k, mode=mode, **kw)


@pytest.fixture
async def store(config: AgentBrainConfig):
    s = AgentBrainVectorStore.from_config(config, namespace="li")
    yield s
    await s.aclose()


# --------------------------------------------------------------------------- writes/reads
def test_add_get_roundtrip_keeps_node(store: AgentBrainVectorStore) -> None:
    """If this fails, check _to_chunk/_to_node: id, text, metadata and relationships must
    survive the trip through the backend."""
    nodes = corpus()
    assert store.add(nodes) == [n.node_id for n in nodes]
    got = store.get_nodes(node_ids=["lava", "python", "missing"])
    assert [n.node_id for n in got] == ["lava", "python"]
    lava = got[0]
    assert lava.get_content() == TEXTS["lava"]
    assert lava.metadata == {"topic": "geo", "order": 4}
    assert lava.ref_doc_id == "doc-0"
    assert lava.embedding is not None
    assert len(lava.embedding) == DIM
    assert sorted(n.node_id for n in store.get_nodes()) == sorted(TEXTS)


async def test_async_twins(store: AgentBrainVectorStore) -> None:
    await store.async_add(corpus())
    assert len(await store.aget_nodes()) == len(TEXTS)
    result = await store.aquery(vq("lava volcano"))
    assert result.ids
    assert result.ids[0] in ("lava", "volcano")
    await store.adelete("doc-0")
    assert sorted(n.node_id for n in await store.aget_nodes()) == ["glacier", "ocean", "rust"]
    await store.adelete_nodes(node_ids=["rust"])
    await store.adelete_nodes(filters=MetadataFilters(filters=[
        MetadataFilter(key="topic", value="geo")]))
    assert await store.aget_nodes() == []
    await store.async_add(corpus())
    await store.aclear()
    assert await store.aget_nodes() == []


def test_delete_by_ref_doc_nodes_and_clear(store: AgentBrainVectorStore) -> None:
    store.add(corpus())
    store.delete("doc-1")  # glacier, rust, ocean
    assert sorted(n.node_id for n in store.get_nodes()) == ["lava", "python", "volcano"]
    store.delete_nodes(node_ids=["lava", "python"], filters=MetadataFilters(filters=[
        MetadataFilter(key="topic", value="geo")]))  # the ids that match: lava only
    assert sorted(n.node_id for n in store.get_nodes()) == ["python", "volcano"]
    with pytest.raises(InvalidInputError, match="clear"):
        store.delete_nodes()
    store.delete_nodes(node_ids=[])
    assert len(store.get_nodes()) == 2
    store.clear()
    assert store.get_nodes() == []


def test_other_namespaces_are_untouched(config: AgentBrainConfig) -> None:
    with AgentBrainVectorStore.from_config(config, namespace="a") as a:
        a.add(corpus())
        a.clear()
    with AgentBrainVectorStore.from_config(config, namespace="b") as b:
        b.add(corpus()[:2])
    with AgentBrainVectorStore.from_config(config, namespace="a") as a:
        a.add(corpus()[2:3])
        a.clear()
        assert a.get_nodes() == []
    with AgentBrainVectorStore.from_config(config, namespace="b") as b:
        assert len(b.get_nodes()) == 2


def test_metadata_rules(store: AgentBrainVectorStore) -> None:
    """None is not stored as a key (but round-trips in the node); lists are refused whole."""
    store.add([node("n", "plain text", note=None, kind=True, weight=1.5)])
    (got,) = store.get_nodes(node_ids=["n"])
    assert got.metadata == {"note": None, "kind": True, "weight": 1.5}
    with pytest.raises(InvalidInputError, match=r"metadata\['tags'\] is a list"):
        store.add([node("ok", "fine"), node("bad", "refused", tags=["a", "b"])])
    assert [n.node_id for n in store.get_nodes()] == ["n"]


def test_chunks_from_other_tools_come_back_as_text_nodes(config: AgentBrainConfig) -> None:
    import asyncio

    async def write() -> None:
        async with create_backend(config) as backend:
            await backend.upsert([Chunk("raw", "lava from the cli", EMBEDDER.embed_one(
                "lava from the cli"), {"source": "cli.md"})], namespace="li")

    asyncio.run(write())
    with AgentBrainVectorStore.from_config(config, namespace="li") as store:
        (got,) = store.get_nodes()
        assert isinstance(got, TextNode)
        assert (got.node_id, got.text, got.metadata) == ("raw", "lava from the cli",
                                                          {"source": "cli.md"})
        result = store.query(vq("lava", VectorStoreQueryMode.TEXT_SEARCH))
        assert result.ids == ["raw"]


# --------------------------------------------------------------------------- query modes
def test_query_modes(store: AgentBrainVectorStore) -> None:
    """If this fails, check _QueryPlan.run: DEFAULT is vector search, TEXT_SEARCH BM25,
    HYBRID weighted fusion where alpha=1 is pure vector and alpha=0 pure keyword."""
    store.add(corpus())
    text = "volcano lava crater"
    vector = store.query(vq(text))
    keyword = store.query(vq(text, VectorStoreQueryMode.TEXT_SEARCH))
    assert vector.ids is not None
    assert keyword.ids is not None
    assert len(vector.ids) == 3
    assert set(keyword.ids) <= {"volcano", "lava"}
    assert keyword.ids
    for result in (vector, keyword):
        assert result.similarities == sorted(result.similarities or [], reverse=True)
        assert all(0.0 <= s <= 1.0 for s in result.similarities or [])
        assert [n.node_id for n in result.nodes or []] == result.ids
    pure_vector = store.query(vq(text, VectorStoreQueryMode.HYBRID, alpha=1.0))
    pure_keyword = store.query(vq(text, VectorStoreQueryMode.HYBRID, alpha=0.0))
    assert pure_vector.ids == vector.ids
    # minmax normalization puts a leg's weakest hit at 0, level with a miss: compare tops
    assert (pure_keyword.ids or [])[0] == keyword.ids[0]
    mixed = store.query(vq(text, VectorStoreQueryMode.HYBRID, alpha=0.5))
    assert mixed.ids
    assert mixed.ids[0] in ("volcano", "lava")
    narrow = store.query(vq(text, VectorStoreQueryMode.HYBRID, top_k=5, hybrid_top_k=2))
    assert len(narrow.ids or []) == 2


def test_keyword_only_nodes(store: AgentBrainVectorStore) -> None:
    store.add([node("no-vector", "a chunk about lava without embedding", embed=False),
               node("with-vector", "a chunk about rivers")])
    assert store.query(vq("lava")).ids == ["with-vector"]
    assert store.query(vq("lava", VectorStoreQueryMode.TEXT_SEARCH)).ids == ["no-vector"]


def test_mmr_prefers_diversity(store: AgentBrainVectorStore) -> None:
    same = "Volcanoes erupt molten lava and ash over the island."
    store.add([node("a", same), node("b", same + " "), node("c", TEXTS["lava"]),
               node("d", TEXTS["python"])])
    plain = store.query(vq(same, top_k=2)).ids
    diverse = store.query(vq(same, VectorStoreQueryMode.MMR, top_k=2, mmr_threshold=0.3)).ids
    assert plain is not None
    assert set(plain) == {"a", "b"}
    assert diverse is not None
    assert len(diverse) == 2
    assert set(diverse) != {"a", "b"}


def test_doc_ids_and_node_ids_restrict(store: AgentBrainVectorStore) -> None:
    store.add(corpus())
    text = "volcano lava"
    for mode in (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.TEXT_SEARCH,
                 VectorStoreQueryMode.HYBRID):
        result = store.query(vq(text, mode, top_k=6, doc_ids=["doc-1"]))
        assert set(result.ids or []) <= {"glacier", "rust", "ocean"}
    restricted = store.query(vq(text, top_k=6, node_ids=["python", "lava", "ghost"]))
    assert restricted.ids == ["lava", "python"]
    assert restricted.similarities is not None
    full = store.query(vq(text, top_k=6))
    scores = dict(zip(full.ids or [], full.similarities or [], strict=True))
    assert restricted.similarities[0] == pytest.approx(scores["lava"], abs=1e-5)
    assert store.query(vq(text, top_k=6, node_ids=[])).ids == full.ids  # [] = no restriction
    with pytest.raises(InvalidInputError, match="node_ids"):
        store.query(vq(text, VectorStoreQueryMode.HYBRID, node_ids=["lava"]))


def test_bad_queries(store: AgentBrainVectorStore) -> None:
    with pytest.raises(InvalidInputError, match="not supported"):
        store.query(vq("x", VectorStoreQueryMode.SVM))
    with pytest.raises(InvalidInputError, match="query_embedding"):
        store.query(VectorStoreQuery(query_str="x", similarity_top_k=2))
    with pytest.raises(InvalidInputError, match="query_str"):
        store.query(VectorStoreQuery(query_embedding=EMBEDDER.embed_one("x"),
                                     mode=VectorStoreQueryMode.TEXT_SEARCH))
    with pytest.raises(InvalidInputError, match="alpha"):
        store.query(vq("x", VectorStoreQueryMode.HYBRID, alpha=1.5))


# --------------------------------------------------------------------------- filters
def f(key: str, value: object, op: FilterOperator = FilterOperator.EQ) -> MetadataFilter:
    return MetadataFilter(key=key, value=value, operator=op)


def group(*items: MetadataFilter | MetadataFilters,
          condition: FilterCondition = FilterCondition.AND) -> MetadataFilters:
    return MetadataFilters(filters=list(items), condition=condition)


FILTER_NODES = {  # n: 1, True, "1" and 1.0 are four values; 1 == 1.0
    "a": {"year": 2020, "topic": "geo", "rating": 4.5, "n": 1, "tag": ""},
    "b": {"year": 2021, "topic": "geo", "rating": 3, "n": True},
    "c": {"year": "2021", "topic": "cs", "n": "1", "tag": "x"},
    "d": {"year": 2022, "topic": "cs", "rating": 1, "n": 1.0},
    "e": {"topic": "bio", "tag": None},
}

GT, GTE, LT, LTE = FilterOperator.GT, FilterOperator.GTE, FilterOperator.LT, FilterOperator.LTE
IN, NIN, NE = FilterOperator.IN, FilterOperator.NIN, FilterOperator.NE
OR, NOT = FilterCondition.OR, FilterCondition.NOT

# (LlamaIndex filters, the Agent Brain filter it means, the ids it selects — by hand)
FILTER_CASES: list[tuple[MetadataFilters, object, str]] = [
    (group(f("year", 2021)), {"year": {"$eq": 2021}}, "b"),
    (group(f("year", "2021")), {"year": {"$eq": "2021"}}, "c"),
    (group(f("n", 1)), {"n": {"$eq": 1}}, "ad"),
    (group(f("n", 1.0)), {"n": {"$eq": 1.0}}, "ad"),
    (group(f("year", 2021, NE)), {"year": {"$ne": 2021}}, "acde"),
    (group(f("year", 2020, GT)), {"year": {"$gt": 2020}}, "bd"),
    (group(f("year", 2020, GTE)), {"year": {"$gte": 2020}}, "abd"),
    (group(f("year", 2022, LT)), {"year": {"$lt": 2022}}, "ab"),
    (group(f("year", 2021, LTE)), {"year": {"$lte": 2021}}, "ab"),
    (group(f("year", "2020", GT)), {"year": {"$gt": "2020"}}, "c"),
    (group(f("rating", 3.5, LT)), {"rating": {"$lt": 3.5}}, "bd"),
    (group(f("topic", ["geo", "bio"], IN)), {"topic": {"$in": ["geo", "bio"]}}, "abe"),
    (group(f("topic", ["geo"], NIN)), {"topic": {"$nin": ["geo"]}}, "cde"),
    (group(f("year", [2020], NIN)), {"year": {"$nin": [2020]}}, "bcde"),
    (group(f("year", [], IN)), {"year": {"$in": []}}, ""),
    (group(f("tag", None, FilterOperator.IS_EMPTY)),
     {"$or": [{"tag": {"$exists": False}}, {"tag": ""}]}, "abde"),
    (group(f("topic", "geo"), f("year", 2021, GTE)),
     {"$and": [{"topic": "geo"}, {"year": {"$gte": 2021}}]}, "b"),
    (group(f("topic", "cs"), f("year", 2021, GTE), condition=OR),
     {"$or": [{"topic": "cs"}, {"year": {"$gte": 2021}}]}, "bcd"),
    (group(f("topic", "geo"), f("year", 2022), condition=NOT),
     {"$not": {"$or": [{"topic": "geo"}, {"year": 2022}]}}, "ce"),
    (group(f("topic", ["geo", "cs"], IN),
           group(f("year", 2021, LT), group(f("rating", 3, GTE), condition=NOT),
                 condition=OR)),
     {"$and": [{"topic": {"$in": ["geo", "cs"]}},
               {"$or": [{"year": {"$lt": 2021}}, {"$not": {"rating": {"$gte": 3}}}]}]},
     "acd"),
    (group(), None, "abcde"),
    (group(condition=OR), {"x": {"$in": []}}, ""),
    (group(condition=NOT), None, "abcde"),
    (group(f("topic", "geo"), group(condition=OR)), {"x": {"$in": []}}, ""),
    (group(f("topic", "geo"), group(condition=NOT)), {"topic": "geo"}, "ab"),
]


@pytest.mark.parametrize("index", range(len(FILTER_CASES)))
def test_filter_translation_matches_the_oracle(index: int) -> None:
    """The translation means what the table says (no backend): the oracle, run on the
    translated filter and on the hand-written one, selects the hand-computed ids."""
    filters, meant, expected = FILTER_CASES[index]
    metadata = {k: {m: v for m, v in md.items() if v is not None}
                for k, md in FILTER_NODES.items()}
    for candidate in (translate_filters(filters), meant):
        predicate = compile_predicate(parse_filter(candidate))
        assert "".join(k for k, md in metadata.items() if predicate(md)) == expected


def test_filters_on_the_backend(store: AgentBrainVectorStore) -> None:
    """If this fails but the translation test passes, the backend disagrees with the oracle
    (see contract_tests/test_filters.py)."""
    store.add([node(k, f"text {k}", **md) for k, md in FILTER_NODES.items()])
    for filters, _, expected in FILTER_CASES:
        got = "".join(sorted(n.node_id for n in store.get_nodes(filters=filters)))
        assert got == expected, filters
    result = store.query(vq("text", top_k=5, filters=FILTER_CASES[5][0]))
    assert sorted(result.ids or []) == ["b", "d"]
    extra = store.query(vq("text", top_k=5, filters=FILTER_CASES[5][0]),
                        agent_brain_filters={"rating": {"$exists": True}})
    assert sorted(extra.ids or []) == ["b", "d"]
    extra = store.query(vq("text", top_k=5), agent_brain_filters={"n": {"$eq": True}})
    assert extra.ids == ["b"]


@pytest.mark.parametrize("op", [FilterOperator.ANY, FilterOperator.ALL,
                                FilterOperator.CONTAINS, FilterOperator.TEXT_MATCH,
                                FilterOperator.TEXT_MATCH_INSENSITIVE])
def test_refused_operators_name_the_filter(op: FilterOperator) -> None:
    value: object = ["a"] if op in (FilterOperator.ANY, FilterOperator.ALL) else "a"
    with pytest.raises(FilterError, match=rf"filters\.filters\[1\]\.filters\[0\] "
                                          rf"\(key='tags', operator={op.name}\)"):
        translate_filters(group(f("topic", "geo"), group(f("tags", value, op))))


@pytest.mark.parametrize(("bad", "message"), [
    (f("year", [1, 2]), "needs one str, int or float value"),
    (f("year", None), "IS_EMPTY"),
    (f("year", 2020, IN), "needs a list"),
    (f("year", None, GT), "needs one"),
])
def test_malformed_filters(bad: MetadataFilter, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        translate_filters(group(bad))


# --------------------------------------------------------------------------- the index
def test_vector_store_index_end_to_end(config: AgentBrainConfig) -> None:
    """VectorStoreIndex.from_documents over the store, queried through retrievers."""
    embed_model = AgentBrainEmbedding.from_config(config)
    documents = [Document(text=text, id_=f"doc-{key}", metadata={"key": key})
                 for key, text in TEXTS.items()]
    with AgentBrainVectorStore.from_config(config, namespace="index") as store:
        index = VectorStoreIndex.from_documents(
            documents, storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed_model)
        for mode in ("default", "text_search", "hybrid"):
            hits = index.as_retriever(similarity_top_k=2,
                                      vector_store_query_mode=mode).retrieve("lava volcano")
            assert hits, mode
            assert hits[0].node.ref_doc_id in ("doc-volcano", "doc-lava"), mode
        filtered = index.as_retriever(similarity_top_k=3, filters=group(
            f("key", ["python", "rust"], IN))).retrieve("programming language")
        assert {h.node.metadata["key"] for h in filtered} == {"python", "rust"}
        index.delete_ref_doc("doc-lava")
        keys = {h.node.metadata["key"]
                for h in index.as_retriever(similarity_top_k=6).retrieve("lava")}
        assert "lava" not in keys
        assert len(keys) == 5

    with AgentBrainVectorStore.from_config(config, namespace="index") as reopened:
        index = VectorStoreIndex.from_vector_store(reopened, embed_model=embed_model)
        assert index.as_retriever(similarity_top_k=1).retrieve("glaciers melt")[
            0].node.ref_doc_id == "doc-glacier"


async def test_vector_store_index_async(config: AgentBrainConfig) -> None:
    embed_model = AgentBrainEmbedding.from_config(config)
    async with AgentBrainVectorStore.from_config(config, namespace="index") as store:
        index = VectorStoreIndex(
            nodes=[], storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed_model, use_async=True)
        await index.ainsert_nodes([node(k, v) for k, v in TEXTS.items()])
        hits = await index.as_retriever(similarity_top_k=2).aretrieve("rust memory safety")
        assert hits[0].node.node_id == "rust"
