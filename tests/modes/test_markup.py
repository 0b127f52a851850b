"""Markup removed, structure kept: the blocks chunks and answers are made of."""

from __future__ import annotations

from parallel_nodes.modes._markup import Block, BlockKind, clean_inline, parse_blocks, render_blocks

RST = """Use it like this::

   x = compute()
   print(x)

.. code-block:: python
   :linenos:

   def f():
       return 1

.. note:: Read **this** first.

.. _target:

* one *item*
* two ``items``
  continued here

+-----+-----+
| a   | b   |
+=====+=====+
| 1   | 2   |
+-----+-----+

A :func:`len` call, a `link <http://x>`_ and a footnote [3]_.
"""


def test_rst_directives_literal_blocks_lists_and_tables_become_blocks() -> None:
    blocks = parse_blocks(RST, suffix=".rst")
    assert [b.kind for b in blocks] == [
        BlockKind.PROSE,
        BlockKind.CODE,
        BlockKind.CODE,
        BlockKind.PROSE,
        BlockKind.LIST,
        BlockKind.TABLE,
        BlockKind.PROSE,
    ]
    assert blocks[0].text == "Use it like this:"
    assert blocks[1].text == "x = compute()\nprint(x)"
    assert blocks[2] == Block(kind=BlockKind.CODE, text="def f():\n    return 1", lang="python")
    assert blocks[3].text == "Note: Read this first."
    assert blocks[4].text == "- one item\n- two `items` continued here"
    assert blocks[5].text.splitlines()[1] == "| a   | b   |"
    assert blocks[6].text == "A `len` call, a link and a footnote."
    rendered = render_blocks(blocks)
    for markup in (".. code-block::", ".. note::", "**", ":func:", "::\n", "_target"):
        assert markup not in rendered


def test_markdown_fences_lists_and_tables_survive_a_round_trip() -> None:
    md = "Intro with **bold** and a [link](http://x).\n\n- a\n- b\n\n| x | y |\n|---|---|\n"
    md += "\n```python\nif x == 1:\n    pass\n```\n"
    blocks = parse_blocks(md)
    assert [b.kind for b in blocks] == [
        BlockKind.PROSE,
        BlockKind.LIST,
        BlockKind.TABLE,
        BlockKind.CODE,
    ]
    assert parse_blocks(render_blocks(blocks)) == blocks, "stored chunks parse back the same"


def test_plain_text_indented_after_a_colon_is_code_and_dunders_are_not_emphasis() -> None:
    text = "Defined with:\n\n   def <lambda>(args):\n       return expr\n\n"
    text += "See __slots__ and built-\nin names."
    blocks = parse_blocks(text, suffix=".txt")
    assert blocks[1] == Block(kind=BlockKind.CODE, text="def <lambda>(args):\n    return expr")
    assert blocks[2].text == "See __slots__ and built-in names."
    assert clean_inline("*a*, *b* and **kwargs") == "a, b and **kwargs"
