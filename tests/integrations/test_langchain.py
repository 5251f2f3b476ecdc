"""The LangChain adapter on both backends, beyond the standard suite: typed metadata, our
filter language, scores, hybrid and keyword modes, MMR, retrievers and constructors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from langchain_core.documents import Document

from agent_brain.config import AgentBrainConfig
from agent_brain.errors import DimensionMismatchError, FilterError, InvalidInputError
from agent_brain.integrations.langchain import AgentBrainEmbeddings, AgentBrainVectorStore

TEXTS = {
    "volcano": "Volcanoes erupt molten lava and ash over the island.",
    "glacier": "Glaciers melt slowly and carve deep valleys in the mountains.",
    "python": "Python is a programming language with a large standard library.",
    "rust": "Rust is a systems programming language focused on memory safety.",
    "lava": "Lava lakes glow red inside an active volcano crater.",
    "ocean": "Ocean currents move heat from the equator toward the poles.",
}
TOPIC = {"volcano": "geo", "glacier": "geo", "lava": "geo", "ocean": "geo",
         "python": "cs", "rust": "cs"}


@pytest.fixture
async def store(config: AgentBrainConfig) -> AsyncIterator[AgentBrainVectorStore]:
    s = AgentBrainVectorStore.from_config(config, embedding=AgentBrainEmbeddings.from_config(
        config), namespace="lc")
    yield s
    await s.aclose()


def fill(store: AgentBrainVectorStore) -> list[str]:
    return store.add_texts(list(TEXTS.values()), [{"topic": TOPIC[k], "order": i}
                                                  for i, k in enumerate(TEXTS)],
                           ids=list(TEXTS))


def test_typed_metadata_roundtrip(store: AgentBrainVectorStore) -> None:
    """1, 1.0, True and "1" are four values, in storage and in filters."""
    docs = [Document(page_content=f"doc {i}", metadata={"v": v})
            for i, v in enumerate([1, 1.0, True, "1"])]
    ids = store.add_documents(docs, ids=["i", "f", "b", "s"])
    got = store.get_by_ids(["s", "b", "f", "i", "missing"])
    assert [(d.id, type(d.metadata["v"]).__name__) for d in got] == [
        ("s", "str"), ("b", "bool"), ("f", "float"), ("i", "int")]
    assert ids == ["i", "f", "b", "s"]
    assert {d.id for d in store.similarity_search("doc", k=4, filter={"v": 1})} == {"i", "f"}
    assert [d.id for d in store.similarity_search("doc", k=4, filter={"v": True})] == ["b"]
    assert [d.id for d in store.similarity_search("doc", k=4, filter={"v": "1"})] == ["s"]


def test_refusals(store: AgentBrainVectorStore) -> None:
    with pytest.raises(InvalidInputError, match="metadata"):
        store.add_texts(["ok", "bad"], [{}, {"tags": ["a"]}], ids=["ok", "bad"])
    with pytest.raises(InvalidInputError, match="2 texts but 1 ids"):
        store.add_texts(["a", "b"], ids=["a"])
    assert store.get_by_ids(["ok", "bad"]) == []
    with pytest.raises(InvalidInputError, match="clear"):
        store.delete()
    with pytest.raises(FilterError, match="unknown"):
        store.similarity_search("x", filter={"k": {"$regex": "a"}})
    with pytest.raises(InvalidInputError, match="mode"):
        store.similarity_search("x", mode="semantic")


def test_filters_delete_and_clear(store: AgentBrainVectorStore) -> None:
    fill(store)
    hits = store.similarity_search("language", k=6, filter={"topic": "cs"})
    assert {d.id for d in hits} == {"python", "rust"}
    hits = store.similarity_search("lava", k=6, filter={"$or": [
        {"order": {"$gte": 5}}, {"$not": {"topic": {"$in": ["geo"]}}}]})
    assert {d.id for d in hits} == {"python", "rust", "ocean"}
    assert store.delete(filter={"topic": "cs"}) is True
    assert store.get_by_ids(["python", "rust"]) == []
    store.delete(["volcano", "nonexistent"])
    assert [d.id for d in store.get_by_ids(list(TEXTS))] == ["glacier", "lava", "ocean"]
    store.delete([])
    store.clear()
    assert store.get_by_ids(list(TEXTS)) == []


def test_scores_are_relevances(store: AgentBrainVectorStore) -> None:
    """If this fails, check the module docs' score contract: [0, 1], higher is better, and
    _select_relevance_score_fn is the identity."""
    fill(store)
    pairs = store.similarity_search_with_score(TEXTS["rust"], k=6)
    assert pairs[0][0].id == "rust"
    assert pairs[0][1] == pytest.approx(1.0, abs=1e-5)
    scores = [s for _, s in pairs]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    relevance = store.similarity_search_with_relevance_scores(TEXTS["rust"], k=6)
    assert [s for _, s in relevance] == scores
    above = store.similarity_search_with_relevance_scores(TEXTS["rust"], k=6,
                                                          score_threshold=scores[2])
    assert len(above) >= 3
    assert all(s >= scores[2] for _, s in above)
    vector = store.embeddings.embed_query(TEXTS["rust"])
    assert [d.id for d in store.similarity_search_by_vector(vector, k=6)] == [
        d.id for d, _ in pairs]


def test_keyword_and_hybrid(store: AgentBrainVectorStore) -> None:
    fill(store)
    text = "volcano lava crater"
    vector = store.similarity_search_with_score(text, k=3)
    keyword = store.similarity_search_with_score(text, k=3, mode="keyword")
    assert {d.id for d, _ in keyword} <= {"volcano", "lava"}
    assert [d.id for d in store.hybrid_search(text, k=3, alpha=1.0)] == [d.id for d, _ in vector]
    assert store.hybrid_search(text, k=3, alpha=0.0)[0].id == keyword[0][0].id
    rrf = store.hybrid_search_with_score(text, k=3, fusion="rrf", filter={"topic": "geo"})
    assert rrf[0][0].id in ("volcano", "lava")
    assert all(0 < s <= 1 for _, s in rrf)
    assert all(TOPIC[d.id] == "geo" for d, _ in rrf)
    retriever = store.as_retriever(search_kwargs={"k": 2, "mode": "hybrid", "alpha": 0.3})
    assert retriever.invoke(text)[0].id in ("volcano", "lava")


def test_max_marginal_relevance(store: AgentBrainVectorStore) -> None:
    same = TEXTS["volcano"]
    store.add_texts([same, same + " ", TEXTS["lava"], TEXTS["python"]], ids=list("abcd"))
    assert {d.id for d in store.similarity_search(same, k=2)} == {"a", "b"}
    diverse = store.max_marginal_relevance_search(same, k=2, fetch_k=4, lambda_mult=0.3)
    assert len(diverse) == 2
    assert {d.id for d in diverse} != {"a", "b"}
    retriever = store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 4})
    assert len(retriever.invoke(same)) == 2


async def test_async_twins(store: AgentBrainVectorStore) -> None:
    ids = await store.aadd_texts(list(TEXTS.values()), [{"topic": TOPIC[k]} for k in TEXTS])
    assert len(set(ids)) == len(TEXTS)
    by_id = dict(zip(ids, TEXTS, strict=True))
    hits = await store.asimilarity_search("programming language", k=2, filter={"topic": "cs"})
    assert {by_id[d.id or ""] for d in hits} == {"python", "rust"}
    hybrid = await store.ahybrid_search("lava crater", k=1)
    assert by_id[hybrid[0].id or ""] in ("lava", "volcano")
    mmr = await store.amax_marginal_relevance_search("lava", k=2, fetch_k=6)
    assert len(mmr) == 2
    await store.adelete(filter={"topic": "geo"})
    assert len(await store.aget_by_ids(ids)) == 2
    await store.aclear()
    assert await store.aget_by_ids(ids) == []


def test_from_texts_owns_its_backend(config: AgentBrainConfig) -> None:
    embeddings = AgentBrainEmbeddings.from_config(config)
    store = AgentBrainVectorStore.from_texts([TEXTS["lava"], TEXTS["rust"]], embeddings,
                                             [{"n": 1}, {"n": 2}], ids=["a", "b"],
                                             config=config, namespace="ft")
    assert store.embeddings is embeddings
    assert [d.id for d in store.similarity_search("rust memory", k=1)] == ["b"]
    store.close()
    store.close()  # idempotent
    with AgentBrainVectorStore.from_config(config, embeddings, namespace="ft") as again:
        assert [d.metadata for d in again.get_by_ids(["a", "b"])] == [{"n": 1}, {"n": 2}]


async def test_afrom_texts(config: AgentBrainConfig) -> None:
    embeddings = AgentBrainEmbeddings.from_config(config)
    store = await AgentBrainVectorStore.afrom_texts(["gamma"], embeddings, config=config)
    async with store:
        assert [d.page_content for d in await store.asimilarity_search("gamma", k=1)] == [
            "gamma"]


def test_wrong_dimension_is_refused(config: AgentBrainConfig) -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    store = AgentBrainVectorStore.from_config(config, DeterministicFakeEmbedding(size=5))
    with store, pytest.raises(DimensionMismatchError):
        store.add_texts(["x"])
