"""The Milvus boolean expression language in query, search and delete filters, checked against
the same predicate evaluated in Python over every row: comparisons (also chained), in / not in,
like with % and _, and/&&, or/||, not/!, parentheses, arithmetic, booleans, strings in '' and "",
JSON paths, and every scalar type."""

import re

import pytest

from conftest import pk, random_vectors, unique

N = 240
DIM = 4


def row(i):
    r = {"id": i, "vec": [float(x) for x in random_vectors(1, DIM, seed=i)[0]],
         "label": i % 10, "small": (i % 13) - 6, "score": (i % 16) / 16.0,
         "ratio": (i % 8) / 8.0, "name": f"row_{i}", "flag": i % 3 == 0,
         "meta": {"k": i % 3, "group": "a" if i % 2 else "b"}}
    if i % 4 != 3:
        r["meta"]["arr"] = [i % 10, 1]
    return r


ROWS = [row(i) for i in range(N)]


def like(pattern):
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(rx + r"\Z", re.S)


def arr0(r):
    return r["meta"].get("arr", [None])[0]


CASES = [
    ("label == 3", lambda r: r["label"] == 3),
    ("label != 3", lambda r: r["label"] != 3),
    ("label > 5", lambda r: r["label"] > 5),
    ("label >= 5", lambda r: r["label"] >= 5),
    ("label < 2", lambda r: r["label"] < 2),
    ("label <= 2", lambda r: r["label"] <= 2),
    ("2 < label < 6", lambda r: 2 < r["label"] < 6),
    ("1 <= label <= 3", lambda r: 1 <= r["label"] <= 3),
    ("5 > label", lambda r: 5 > r["label"]),
    ("label in [1, 3, 5]", lambda r: r["label"] in (1, 3, 5)),
    ("label not in [1, 3, 5]", lambda r: r["label"] not in (1, 3, 5)),
    ("id in [0, 7, 239, 100000]", lambda r: r["id"] in (0, 7, 239)),
    ("id == 17", lambda r: r["id"] == 17),
    ("small > -3", lambda r: r["small"] > -3),
    ("small == -6", lambda r: r["small"] == -6),
    ("score >= 0.5", lambda r: r["score"] >= 0.5),
    ("ratio < 0.25", lambda r: r["ratio"] < 0.25),
    ("score == 0.25", lambda r: r["score"] == 0.25),
    ("score > 0.5 and ratio <= 0.5", lambda r: r["score"] > 0.5 and r["ratio"] <= 0.5),
    ('name == "row_5"', lambda r: r["name"] == "row_5"),
    ("name == 'row_6'", lambda r: r["name"] == "row_6"),
    ('name != "row_5"', lambda r: r["name"] != "row_5"),
    ('name in ["row_1", "row_2", "nope"]', lambda r: r["name"] in ("row_1", "row_2")),
    ('name like "row_1%"', lambda r: like("row_1%").match(r["name"]) is not None),
    ('name like "%9"', lambda r: r["name"].endswith("9")),
    ('name like "row__"', lambda r: like("row__").match(r["name"]) is not None),
    ('name like "%w_2_"', lambda r: like("%w_2_").match(r["name"]) is not None),
    ("flag == true", lambda r: r["flag"]),
    ("flag == false", lambda r: not r["flag"]),
    ("flag != true and label == 1", lambda r: not r["flag"] and r["label"] == 1),
    ("label == 1 and score > 0.5", lambda r: r["label"] == 1 and r["score"] > 0.5),
    ("label == 1 && score > 0.5", lambda r: r["label"] == 1 and r["score"] > 0.5),
    ("label == 1 or label == 2", lambda r: r["label"] in (1, 2)),
    ("label == 1 || flag == true", lambda r: r["label"] == 1 or r["flag"]),
    ("not (label == 1)", lambda r: r["label"] != 1),
    ("!(label < 5)", lambda r: not r["label"] < 5),
    ("(label == 1 or label == 2) and id < 100", lambda r: r["label"] in (1, 2) and r["id"] < 100),
    ("label == 1 or label == 2 and id < 100",   # and binds tighter than or
     lambda r: r["label"] == 1 or (r["label"] == 2 and r["id"] < 100)),
    ("id % 7 == 0", lambda r: r["id"] % 7 == 0),
    ("id * 2 < 50", lambda r: r["id"] * 2 < 50),
    ("id + 1 == 10", lambda r: r["id"] + 1 == 10),
    ("id - 1 == 10", lambda r: r["id"] - 1 == 10),
    ('meta["k"] == 1', lambda r: r["meta"]["k"] == 1),
    ('meta["group"] == "a"', lambda r: r["meta"]["group"] == "a"),
    ('meta["arr"][0] > 5', lambda r: arr0(r) is not None and arr0(r) > 5),
    ('meta["nope"] == 1', lambda r: False),
    ('meta["k"] in [0, 2] and meta["group"] == "b"',
     lambda r: r["meta"]["k"] in (0, 2) and r["meta"]["group"] == "b"),
    ("id >= 0", lambda r: True),
    ("id < 0", lambda r: False),
]


@pytest.fixture(scope="module")
def coll(api):
    name = unique("flt")
    api.create_collection(name, DIM, extra_fields=[
        {"fieldName": "small", "dataType": "Int32"},
        {"fieldName": "score", "dataType": "Double"},
        {"fieldName": "ratio", "dataType": "Float"},
        {"fieldName": "name", "dataType": "VarChar", "elementTypeParams": {"max_length": 32}},
        {"fieldName": "flag", "dataType": "Bool"},
        {"fieldName": "meta", "dataType": "JSON"}])
    api.insert(name, ROWS)
    api.create_index(name, index_type="FLAT")
    api.load(name)
    yield name
    api.ok("collections/drop", {"collectionName": name})


def want(pred):
    return {r["id"] for r in ROWS if pred(r)}


@pytest.mark.parametrize("expr,pred", CASES, ids=[c[0] for c in CASES])
def test_query_filter(coll, api, expr, pred):
    got = api.ids(coll, expr)
    w = want(pred)
    assert got == w, (f"query filter {expr!r}: missing {sorted(w - got)[:20]}, "
                      f"extra {sorted(got - w)[:20]}")


@pytest.mark.parametrize("expr,pred", CASES[::4], ids=[c[0] for c in CASES[::4]])
def test_search_filter(coll, api, expr, pred):
    """A filtered search with limit >= N returns exactly the matching rows."""
    r = api.search(coll, [ROWS[0]["vec"]], limit=N + 10, filter=expr)
    got = {pk(h) for h in r.data}
    w = want(pred)
    assert got == w, (f"search filter {expr!r}: missing {sorted(w - got)[:20]}, "
                      f"extra {sorted(got - w)[:20]}{r if len(str(r)) < 3000 else ''}")
    assert r.json.get("topks") == [len(w)], r.json.get("topks")


def test_output_all_scalar_types(coll, api):
    rows = api.query(coll, "id in [3, 6]", ("small", "score", "ratio", "name", "flag", "meta"))
    got = sorted(rows, key=pk)
    exp = []
    for i in (3, 6):
        r = ROWS[i]
        exp.append({"id": str(i), "small": r["small"], "score": r["score"], "ratio": r["ratio"],
                    "name": r["name"], "flag": r["flag"], "meta": r["meta"]})
    assert got == exp, (
        "Int32 / Double / Float / VarChar / Bool / JSON come back as JSON number / number / "
        f"number / string / bool / object (only Int64 as strings):\n got {got}\nwant {exp}")
