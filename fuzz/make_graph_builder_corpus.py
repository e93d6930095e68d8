#!/usr/bin/env python3
"""Writes the seed corpus of graph_builder_fuzzer into fuzz/corpus/graph_builder/.

The fuzzer reads its bytes through BytesChoiceSource (tests/testing/choice_source.h): the
first byte picks the graph family (mod 5: linear chain, conv chain, pools, DAG, LSTM), the
rest every later choice; once the bytes run out each choice takes its default (the smallest).
So the corpus holds the empty input (all defaults), each family with defaults only, and each
family followed by seeded random bytes, short and long. Deterministic: rerunning rewrites the
same files.

    /usr/bin/python3 fuzz/make_graph_builder_corpus.py
"""
import os
import random

FAMILIES = ["linear_chain", "conv_chain", "pools", "dag", "lstm"]


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "graph_builder")
    os.makedirs(out, exist_ok=True)
    files = {"empty": b""}
    for family, name in enumerate(FAMILIES):
        files[f"{name}_defaults"] = bytes([family])
        rng = random.Random(family)
        files[f"{name}_random"] = bytes([family]) + bytes(rng.randrange(256) for _ in range(160))
    rng = random.Random(99)
    files["dag_long"] = bytes([3]) + bytes(rng.randrange(256) for _ in range(1024))
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(files)} files to {out}")


if __name__ == "__main__":
    main()
