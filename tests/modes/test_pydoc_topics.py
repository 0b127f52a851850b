"""The aim of issue 17: on CPython's own pydoc topics, the research mode cites the right one.

The corpus is built from ``pydoc_data.topics`` (stdlib), one plain-text file per topic, and
each of 20 questions names the topic a reader would want. The answer counts when the
expected topic's file is among the sources the answer cites.
"""

from __future__ import annotations

from pathlib import Path

QUESTIONS: tuple[tuple[str, str], ...] = (
    ("What is the difference between is and ==?", "comparisons"),
    ("How does __slots__ save memory and prevent __dict__?", "attribute-access"),
    ("How does the with statement call __enter__ and __exit__?", "with"),
    ("What does the global statement declare?", "global"),
    ("How do I write a lambda expression?", "lambda"),
    ("When does the else clause of a for loop run?", "for"),
    ("What happens in a try statement with a finally clause?", "try"),
    ("What does an assert statement do when optimization is requested?", "assert"),
    ("What does the format specification mini-language allow in f-strings?", "formatstrings"),
    ("What does a yield expression do in a generator function?", "yield"),
    ("Which methods does a dictionary have, such as get and setdefault?", "typesmapping"),
    ("How does str.split split a string with a separator?", "string-methods"),
    ("What does raise ... from do with the exception's __cause__?", "raise"),
    ("How does the nonlocal statement rebind a variable in an enclosing scope?", "nonlocal"),
    ("Which values are considered false in truth value testing?", "truth"),
    ("How does the import statement find and load a module?", "import"),
    ("What does the del statement do to a name?", "del"),
    (
        "Which operations do mutable sequences support, such as append and extend?",
        "typesseq-mutable",
    ),
    ("Which commands does the pdb debugger have, such as break and step?", "debugger"),
    ("How does an augmented assignment statement like += work?", "augassign"),
)


def write_topics(root: Path) -> Path:
    """One ``<topic>.txt`` per pydoc topic of this Python, under ``root``."""
    from pydoc_data.topics import topics

    for name, text in topics.items():
        (root / f"{name}.txt").write_text(text, encoding="utf-8")
    return root


def test_the_research_mode_cites_the_right_pydoc_topic_for_18_of_20_questions(
    tmp_path: Path,
) -> None:
    import asyncio

    from parallel_nodes.modes import CorpusRetriever, Mode2AutomaticWorkflow

    retriever = CorpusRetriever.from_directory(write_topics(tmp_path), cache_dir=None)
    graph = Mode2AutomaticWorkflow(retriever=retriever, config={"metrics": False}).compile()

    async def cited(question: str) -> list[str]:
        out = await graph.ainvoke({"question": question})
        return [c["source"] for c in out["citation_extraction"]["citations"]]

    async def ask_all() -> list[list[str]]:
        return [await cited(q) for q, _ in QUESTIONS]

    answers = asyncio.run(ask_all())
    misses = [
        (q, topic, sources)
        for (q, topic), sources in zip(QUESTIONS, answers, strict=True)
        if f"{topic}.txt" not in sources
    ]
    assert len(QUESTIONS) == 20
    assert len(misses) <= 2, misses
