"""``python -m parallel_nodes.modes``: the same as the ``parallel-nodes`` command."""

from parallel_nodes._entry import main

if __name__ == "__main__":
    main()
